// The training memory planner (issue 15 item 3, decision 0660): the estimate of
// a DPO step's peak RSS within 15% of the peak measured in a fresh process
// (fp32 with every layer's activations kept; int4 with gradient checkpointing),
// and train runs that will not fit refused with the numbers and the settings
// that would.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { planTrain, type TrainPlanInput } from '../../../../electron/engine/generate/memory-plan';
import { chooseTrainWeights } from '../../../../electron/engine/generate/weights-choice';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { quantizedWeights } from '../../../../electron/engine/models/quantized';
import type { DpoPeakCase } from '../../../helpers/dpo-peak-child';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../helpers/dpo-peak-child.ts');
const MiB = 2 ** 20;
let modelDir: string;
let cacheDir: string;

beforeAll(async () => {
  // 4 layers of 256 (MLP 704: every linear quantizable), 32k vocabulary, 64 tokens per image: activations of a
  // 4-image pair are about as large as the weights, so both must be counted right.
  ({ dir: modelDir } = await writeTinyLlava({
    seed: 3,
    textLayers: 4,
    visionLayers: 1,
    size: { hidden: 256, heads: 4, headDim: 64, inter: 704, vHidden: 64, vHeads: 2, vInter: 128, image: 56, patch: 7 },
  }));
  cacheDir = mkdtempSync(path.join(tmpdir(), 'train-plan-cache-'));
  // The int4 file is built here, so the child measures a run that reads it (building costs memory once).
  const c = await Checkpoint.open(modelDir);
  await quantizedWeights(c, { bits: 4, block: 32 }, cacheDir).finally(() => c.close());
}, 120_000);

describe('training memory planner', () => {
  it.each([
    ['fp32, every layer kept', 'fp32', false],
    ['int4 with gradient checkpointing', 'int4', true],
  ] as const)(
    'estimates the peak RSS of a DPO step (%s) within 15%',
    (_label, format, checkpointing) => {
      const c: DpoPeakCase = {
        format,
        cacheDir,
        checkpointing,
        pairs: 1,
        prompt: 20,
        images: 4,
        chosen: 64,
        rejected: 48,
        rank: 16,
        dropout: 0,
        steps: 1,
        threads: 2,
      };
      // The CLI starts the engine with this (bin/mia-dpo.js): without it glibc's growing mmap threshold lets freed
      // activations fragment the heap and the peak wanders by 30% between identical runs (decision 0660).
      const out = execFileSync(process.execPath, ['--import', 'tsx', child, modelDir, JSON.stringify(c)], {
        encoding: 'utf8',
        env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
      });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { peak: number; estimate: number; seq: number };
      expect(r.seq).toBe(352);
      expect(
        Math.abs(r.estimate - r.peak) / r.peak,
        `estimate ${(r.estimate / MiB).toFixed(0)} MiB, peak ${(r.peak / MiB).toFixed(0)} MiB`,
      ).toBeLessThan(0.15);
    },
    120_000,
  );

  it('checkpointing and smaller formats shrink the plan; a run that fits nowhere is refused with what would fit', async () => {
    const c = await Checkpoint.open(modelDir);
    try {
      const spec = llavaSpec(c.config);
      const base: Omit<TrainPlanInput, 'format' | 'checkpointing'> = {
        spec,
        tensors: c.names().map((name) => ({ name, shape: c.get(name).shape })),
        pairs: 2,
        seq: 480,
        answer: 64,
        loraParams: 1e6,
        rank: 16,
        dropout: true,
      };
      const fp32 = planTrain({ ...base, format: 'fp32', checkpointing: false }).totalBytes;
      const ckpt = planTrain({ ...base, format: 'fp32', checkpointing: true }).totalBytes;
      const int4 = planTrain({ ...base, format: 'int4', checkpointing: true }).totalBytes;
      expect(ckpt).toBeLessThan(fp32);
      expect(int4).toBeLessThan(ckpt);
      const choose = (choice: 'auto' | 'fp32', budget: number, checkpointing = false) =>
        chooseTrainWeights({ ...base, choice, checkpointing, budget, model: modelDir });
      expect(choose('auto', 64 * 2 ** 30).format).toBe('fp32');
      expect(() => choose('fp32', (fp32 + ckpt) / 2)).toThrow(
        /a DPO step of 2 pair\(s\) at 480 tokens in fp32 needs about .* GiB \(.*activations.*\), but only .* GiB is available; settings that fit: .*--weights fp32 --checkpointing --batch 2 with sequences up to 480 tokens/,
      );
      expect(choose('auto', (ckpt + int4) / 2, true).format).not.toBe('fp32');
      expect(() => choose('auto', 100 * MiB)).toThrow(/no format, checkpointing or length tried fits/);
      expect(() =>
        chooseTrainWeights({ ...base, choice: 'fp16', checkpointing: false, budget: 1e12, model: '' }),
      ).toThrow(/fp16/);
    } finally {
      await c.close();
    }
  });
});
