// Memory-bounded DPO (issue 15 items 2 and 3, decision 0660): peak RSS of one
// DPO step with every layer's activations kept and with gradient checkpointing,
// on an fp32 and an int4 (QLoRA) base, next to the training planner's estimate.
// An 8-layer random LLaVA at a length where activations dominate (2 pairs with 6
// images of 64 tokens: graph length 480). Each case runs in a fresh process
// (test/helpers/dpo-peak-child.ts) started as the CLI starts the engine (fixed
// glibc mmap threshold, bin/mia-dpo.mjs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Checkpoint } from '../electron/engine/models/checkpoint';
import { quantizedWeights } from '../electron/engine/models/quantized';
import { writeRandomLlava } from '../electron/engine/models/random-checkpoint';
import type { DpoPeakCase } from '../test/helpers/dpo-peak-child';
import type { BenchTable } from './table';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/helpers/dpo-peak-child.ts');
const MiB = 2 ** 20;
const PAIRS = { pairs: 2, prompt: 20, images: 6, chosen: 64, rejected: 48, rank: 16, dropout: 0, steps: 2, threads: 2 };

export async function run(): Promise<BenchTable> {
  const { dir } = await writeRandomLlava({
    seed: 3,
    textLayers: 8,
    visionLayers: 1,
    size: { hidden: 256, heads: 4, headDim: 64, inter: 704, vHidden: 64, vHeads: 2, vInter: 128, image: 56, patch: 7 },
  });
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'dpo-memory-cache-'));
  const rows: (string | number)[][] = [];
  try {
    const c = await Checkpoint.open(dir);
    await quantizedWeights(c, { bits: 4, block: 32 }, cacheDir).finally(() => c.close());
    for (const format of ['fp32', 'int4'] as const) {
      for (const checkpointing of [false, true]) {
        const k: DpoPeakCase = { format, cacheDir, checkpointing, ...PAIRS };
        const out = execFileSync(process.execPath, ['--import', 'tsx', child, dir, JSON.stringify(k)], {
          encoding: 'utf8',
          env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
        });
        const r = JSON.parse(out.trim().split('\n').pop()!) as { peak: number; estimate: number; stepMs: number[] };
        rows.push([
          `${format}, ${checkpointing ? 'checkpointing' : 'all layers kept'}`,
          r.peak / MiB,
          r.estimate / MiB,
          r.estimate / r.peak,
          r.stepMs[r.stepMs.length - 1]! / 1000,
        ]);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return {
    columns: ['case', 'peak RSS MiB', 'planner estimate MiB', 'estimate / peak', 's/step (2nd step)'],
    rows,
    notes: [
      'random LLaVA: text 256 x 8 layers, MLP 704, 32k vocabulary (19.7M text parameters); 2 pairs of 6 images x 64 tokens + 20 prompt tokens, answers 64 / 48: graph length 480, 4 rows',
      'LoRA r16 on q, k, v, o, gate, up, down, no dropout; sigmoid DPO, clip 1, AdamW; image features given; 2 threads',
      'peak RSS = VmHWM of a fresh process per case (session creation and 2 steps), MALLOC_MMAP_THRESHOLD_=131072 as the CLI sets it',
    ],
  };
}
