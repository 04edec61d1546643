// The memory planner (issue 15 item 3): its estimate within 15% of the peak
// RSS measured in a fresh process generating with a random model (fp32 and
// int8), `auto` switching to a quantized format when fp32 would not fit, and a
// run that fits in no format refused with the numbers and what would fit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseWeights } from '../../../../electron/engine/generate/weights-choice';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { quantizedWeights } from '../../../../electron/engine/models/quantized';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../helpers/peak-rss-child.ts');
const MiB = 2 ** 20;
let modelDir: string;
let cacheDir: string;

beforeAll(async () => {
  // About 150 MiB of fp32 text weights, so the weights and not the runtime dominate the peak.
  ({ dir: modelDir } = await writeTinyLlava({
    seed: 5,
    textLayers: 2,
    size: { hidden: 512, heads: 8, headDim: 64, inter: 1408 },
  }));
  cacheDir = mkdtempSync(path.join(tmpdir(), 'plan-cache-'));
  // The quantized file is built here, so the child measures a run that reads it (building costs memory once).
  const c = await Checkpoint.open(modelDir);
  await quantizedWeights(c, { bits: 8, block: 32 }, cacheDir).finally(() => c.close());
}, 120_000);

describe('memory planner', () => {
  it.each(['fp32', 'int8'])(
    'estimates the peak RSS of a %s generation within 15%',
    (format) => {
      const out = execFileSync(process.execPath, ['--import', 'tsx', child, modelDir, format, cacheDir, '150', '40'], {
        encoding: 'utf8',
      });
      const r = JSON.parse(out) as { peak: number; estimate: number; seq: number };
      expect(r.seq).toBeGreaterThan(150);
      expect(
        Math.abs(r.estimate - r.peak) / r.peak,
        `estimate ${r.estimate / MiB} MiB, peak ${r.peak / MiB} MiB`,
      ).toBeLessThan(0.15);
    },
    120_000,
  );

  it('auto picks a quantized format when fp32 would not fit, and refuses what fits nowhere with the numbers', async () => {
    const c = await Checkpoint.open(modelDir);
    try {
      const base = {
        spec: llavaSpec(c.config),
        tensors: c.names().map((name) => ({ name, shape: c.get(name).shape })),
        seq: 512,
        block: 32 as const,
        ep: 'cpu' as const,
        model: modelDir,
      };
      const fp32 = chooseWeights({ ...base, choice: 'fp32', budget: 64 * 2 ** 30 }).plan.totalBytes;
      const int8 = chooseWeights({ ...base, choice: 'int8', budget: 64 * 2 ** 30 }).plan.totalBytes;
      expect(int8).toBeLessThan(fp32);
      const tight = chooseWeights({ ...base, choice: 'auto', budget: (fp32 + int8) / 2 });
      expect(tight.format).toBe('int8');
      expect(tight.reason).toMatch(/^int8: the fp32 estimate .* exceeds the .* available; int8 needs/);
      expect(() => chooseWeights({ ...base, choice: 'fp32', budget: (fp32 + int8) / 2 })).toThrow(
        /generating 512 tokens in fp32 needs about .* GiB \(.*\), but only .* GiB is available; settings that fit: --weights int8 with 512 tokens/,
      );
      expect(() => chooseWeights({ ...base, choice: 'auto', budget: 100 * MiB })).toThrow(/no weight format fits/);
    } finally {
      await c.close();
    }
  });
});
