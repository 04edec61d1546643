// `mia-dpo merge` (electron/engine/models/merge.ts): wall time and peak RSS
// to fold a LoRA adapter (all seven targets) into a 146M-parameter random
// llava-hf model in fp32 and fp16, in a fresh child process per case so its
// peak RSS is its own. Streaming goal: peak RSS well under the model's bytes
// (one tensor and its A/B in memory, never the model).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../electron/engine/generate/sampling';
import { LORA_TARGETS, initLora } from '../electron/engine/models/lora';
import { llavaSpec } from '../electron/engine/models/llava';
import { parseLlavaConfig } from '../electron/engine/models/config';
import { mergeAdapter } from '../electron/engine/models/merge';
import { exportPeftAdapter } from '../electron/engine/models/peft-export';
import {
  randomLlavaConfig,
  randomLlavaShapes,
  type RandomLlavaOptions,
} from '../electron/engine/models/random-checkpoint';
import { fromFloat32 } from '../electron/engine/weights/decode';
import { writeSafetensorsFrom, type TensorSpec } from '../electron/engine/weights/writer';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;
const RANK = 64;
// The 146M size of the DPO benchmarks: text hidden 768 (12 heads of 64, MLP 2048, 12 layers), 32k vocabulary.
const SIZE: RandomLlavaOptions = {
  size: { hidden: 768, heads: 12, headDim: 64, inter: 2048, vHidden: 384, vHeads: 6, vInter: 1536 },
  textLayers: 12,
  visionLayers: 6,
};

/** A model folder with cheap deterministic weights (values do not matter for timing), written tensor by tensor. */
async function writeModel(dir: string, dtype: 'F32' | 'F16'): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const o = { ...SIZE, dtype };
  const specs: Record<string, TensorSpec> = {};
  for (const [name, shape] of randomLlavaShapes(o)) specs[name] = { dtype, shape };
  let bytes = 0;
  await writeSafetensorsFrom(path.join(dir, 'model.safetensors'), specs, (name) => {
    const n = (specs[name] as TensorSpec).shape.reduce((a, b) => a * b, 1);
    const v = Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) % 2001) / 1e5 - 0.01);
    bytes += n * (dtype === 'F32' ? 4 : 2);
    return fromFloat32(dtype, v);
  });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(randomLlavaConfig(o), null, 2));
  return bytes;
}

async function writeAdapter(modelDir: string, dir: string): Promise<void> {
  const spec = llavaSpec(parseLlavaConfig(randomLlavaConfig(SIZE)));
  const rng = createRng(1);
  const lora = initLora(spec.text, { rank: RANK, alpha: 2 * RANK, rslora: false, targets: LORA_TARGETS }, rng);
  for (const m of lora.modules.values()) m.b = Float32Array.from(m.b, () => (rng() - 0.5) * 1e-2);
  await exportPeftAdapter(dir, {
    baseDir: modelDir,
    lora,
    settings: { r: RANK, alpha: 2 * RANK, dropout: 0, rslora: false, targets: LORA_TARGETS },
  });
}

interface ChildResult {
  mergeMs: number;
  baseMiB: number;
  peakMiB: number;
}

async function child(model: string, adapter: string, out: string): Promise<void> {
  const baseMiB = peakRssMiB();
  const t = performance.now();
  await mergeAdapter({ modelDir: model, adapterDir: adapter, outDir: out, shardBytes: 200_000_000 });
  const result: ChildResult = { mergeMs: performance.now() - t, baseMiB, peakMiB: peakRssMiB() };
  process.stdout.write(JSON.stringify(result));
}

export async function run(): Promise<BenchTable> {
  const rows: (string | number)[][] = [];
  const tsx = require.resolve('tsx');
  for (const dtype of ['F32', 'F16'] as const) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'merge-bench-'));
    try {
      const bytes = await writeModel(path.join(dir, 'model'), dtype);
      await writeAdapter(path.join(dir, 'model'), path.join(dir, 'adapter'));
      const r = spawnSync(
        process.execPath,
        ['--import', tsx, SELF, '--child', path.join(dir, 'model'), path.join(dir, 'adapter'), path.join(dir, 'out')],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      if (r.status !== 0) throw new Error(`merge child failed: ${r.stderr}`);
      const c = JSON.parse(r.stdout) as ChildResult;
      rows.push([
        `146M ${dtype}, r${RANK}, 7 targets x 12 layers`,
        bytes / MiB,
        c.mergeMs / 1000,
        bytes / MiB / (c.mergeMs / 1000),
        c.baseMiB,
        c.peakMiB,
        (c.peakMiB - c.baseMiB) / (bytes / MiB),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    columns: ['case', 'model MiB', 'merge s', 'MiB/s', 'RSS before MiB', 'peak RSS MiB', '(peak - before) / model'],
    rows,
    notes: [
      'one child process per case (peak RSS is VmHWM of the child alone); shards of 200 MB',
      'merge s includes reading, W + s·B·A in float64 (JS loops), rounding, writing, fsync and the final open check',
    ],
  };
}

if (process.argv[2] === '--child') {
  const [model, adapter, out] = process.argv.slice(3) as [string, string, string];
  await child(model, adapter, out);
}
