// IXC2.5 decoder suite (issue 16): a random InternLM2 + PLoRA model shaped like
// IXC2.5 at about a tenth of the width (hidden 768 x 12 layers, 12 query / 4 kv
// heads, PLoRA rank 64, vocab 32000; a token ViT only so the folder loads) in
// fp32 on CPU. Prefill over a prompt with one image's embedded rows (841: a 1x1
// crop grid at 560 px, separators included) and greedy decode tokens/s, through
// the app's runner (generate(), attention captured at the middle layer) against
// PyTorch 1.13 eager with a KV cache (test/reference/ixc_ref.py --bench, same
// weights, same run), and against the llava-shaped decoder of the same size
// without PLoRA (the cost of the image-row adapter).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from '../electron/engine/generate/generate';
import { ixcTextFamily, openIxcModel } from '../electron/engine/generate/ixc-session';
import { DecoderRunner } from '../electron/engine/generate/runner';
import { createRng } from '../electron/engine/generate/sampling';
import { expectedIxcShapes } from '../electron/engine/models/checkpoint-ixc-shapes';
import { parseIxcConfig } from '../electron/engine/models/config-ixc';
import { IMAGE_INDEX_MARKER } from '../electron/engine/text/ixc-prompt';
import type { BenchTable } from './table';

const THREADS = 2;
const DECODE_STEPS = 24;
const ROUNDS = 3;
const RANK = 64;
const IMAGE_ROWS = 841;
const PYTHON = process.env.MIA_PYTHON ?? '/usr/bin/python3';
const REFERENCE = path.resolve(import.meta.dirname, '../test/reference/ixc_ref.py');

const CONFIG = {
  architectures: ['InternLMXComposer2ForCausalLM'],
  model_type: 'internlmxcomposer2',
  bias: false,
  hidden_size: 768,
  intermediate_size: 2048,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_key_value_heads: 4,
  vocab_size: 32000,
  max_position_embeddings: 4096,
  rope_scaling: { type: 'dynamic', factor: 2.0 },
  rope_theta: 1000000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
  vision_config: {
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    image_size: 56,
    patch_size: 14,
  },
};

/** Writes model.safetensors one tensor at a time, so this process never holds the whole model. */
function writeModel(dir: string): number {
  const shapes = [...expectedIxcShapes(parseIxcConfig(CONFIG), RANK)].sort(([a], [b]) => (a < b ? -1 : 1));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, shape] of shapes) {
    const bytes = shape.reduce((a, b) => a * b, 4);
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const text = JSON.stringify(header);
  const json = Buffer.from(text.padEnd(Math.ceil(text.length / 8) * 8, ' '));
  const fd = openSync(path.join(dir, 'model.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeSync(fd, len);
  writeSync(fd, json);
  const rng = createRng(1);
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const norm = /norm|layrnorm/.test(name) && name.endsWith('.weight');
    const data = Float32Array.from({ length: n }, () => (norm ? 1 : (rng() - 0.5) * 0.06));
    writeSync(fd, new Uint8Array(data.buffer));
  }
  closeSync(fd);
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
  return offset;
}

interface Timing {
  prefillS: number;
  decodeS: number;
}

async function timeOurs(runner: DecoderRunner, ids: number[], rows: Float32Array): Promise<Timing> {
  let prefillEnd = 0;
  const t0 = performance.now();
  await generate(runner, ids, [rows], {
    maxNewTokens: DECODE_STEPS + 1,
    shouldStop: () => {
      prefillEnd ||= performance.now();
      return false;
    },
  });
  const t1 = performance.now();
  return { prefillS: (prefillEnd - t0) / 1000, decodeS: (t1 - prefillEnd) / 1000 };
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ixc-bench-'));
  try {
    const weightBytes = writeModel(dir);
    const model = await openIxcModel(dir);
    const h = model.spec.hiddenSize;
    const rows = Float32Array.from({ length: IMAGE_ROWS * h }, (_, i) => Math.sin(i * 0.001) * 0.5);
    const text = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
    const ids = [1, ...text(12, 100), IMAGE_INDEX_MARKER, ...text(17, 300)];
    const runner = new DecoderRunner(ixcTextFamily(model, IMAGE_INDEX_MARKER), {
      ep: 'cpu',
      threads: THREADS,
      captureLayers: [model.spec.numLayers / 2],
    });
    await timeOurs(runner, ids, rows); // warm-up: session creation
    const rounds: Timing[] = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await timeOurs(runner, ids, rows));
    await runner.release();
    await model.checkpoint.close();
    const ours = {
      prefillS: Math.min(...rounds.map((t) => t.prefillS)),
      decodeS: Math.min(...rounds.map((t) => t.decodeS)),
    };

    const rowsFile = path.join(dir, 'rows.f32');
    writeFileSync(rowsFile, new Uint8Array(rows.buffer));
    const expanded = ids.flatMap((x) => (x === IMAGE_INDEX_MARKER ? new Array<number>(IMAGE_ROWS).fill(-1) : [x]));
    const req = path.join(dir, 'bench.json');
    writeFileSync(
      req,
      JSON.stringify({
        input_ids: expanded,
        image_rows: rowsFile,
        steps: DECODE_STEPS,
        threads: THREADS,
        repeats: ROUNDS,
      }),
    );
    const outFile = path.join(dir, 'torch.json');
    execFileSync(PYTHON, [REFERENCE, '--bench', dir, req, outFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    const torch = JSON.parse(readFileSync(outFile, 'utf8')) as {
      prefill_s: number;
      decode_s: number;
      prompt_tokens: number;
    };
    const promptTokens = torch.prompt_tokens;
    return {
      columns: ['case', 'ours', 'PyTorch 1.13 eager', 'ours / PyTorch'],
      rows: [
        [
          `prefill tok/s (${promptTokens} tokens, one image of ${IMAGE_ROWS} rows with PLoRA)`,
          promptTokens / ours.prefillS,
          promptTokens / torch.prefill_s,
          torch.prefill_s / ours.prefillS,
        ],
        [
          `decode tok/s (${DECODE_STEPS} steps, attention captured)`,
          DECODE_STEPS / ours.decodeS,
          DECODE_STEPS / torch.decode_s,
          torch.decode_s / ours.decodeS,
        ],
      ],
      notes: [
        `${(weightBytes / 4 / 1e6).toFixed(0)}M parameters in fp32, CPU EP, ${THREADS} threads on both sides; best of ${ROUNDS} rounds each`,
        'ours: DecoderRunner + generate() (host rotary tables, KV cache kept in the session host); PyTorch: ixc_ref.py --bench (official module structure, PLoRA on gathered image rows, repeat_kv)',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
