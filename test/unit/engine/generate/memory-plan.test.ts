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
import { CPU_FP16 } from '../../../../electron/engine/runtime/ep';
import type { ExplicitEp } from '../../../../shared/ep';
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

/** What chooseWeights needs besides the choice and the budget: this model at 512 tokens on `ep`. */
function chooserInput(c: Checkpoint, ep: ExplicitEp, fp16: string | null) {
  return {
    spec: llavaSpec(c.config),
    tensors: c.names().map((name) => ({ name, shape: c.get(name).shape })),
    seq: 512,
    block: 32 as const,
    ep,
    model: modelDir,
    fp16,
  };
}

describe('memory planner', () => {
  // fp16 here is the CPU's (casts inserted by onnxruntime); fp16 on a GPU could not be measured (no GPU).
  it.each(['fp32', 'int8', 'fp16'])(
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
      const base = chooserInput(c, 'cpu', CPU_FP16);
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

  it('auto picks fp16 on a GPU that computes in it, and says why it does not on one that cannot', async () => {
    const c = await Checkpoint.open(modelDir);
    try {
      const base = chooserInput(c, 'webgpu', null);
      const big = 64 * 2 ** 30;
      const fp32 = chooseWeights({ ...base, choice: 'fp32', budget: big }).plan;
      const fp16 = chooseWeights({ ...base, choice: 'fp16', budget: big }).plan;
      // On a GPU fp16 holds the weights as stored: the weight parts are half of fp32's.
      const part = (p: typeof fp32, what: RegExp): number => p.parts.find((x) => what.test(x.what))!.bytes;
      expect(part(fp16, /^language model weights/)).toBe(part(fp32, /^language model weights/) / 2);
      expect(part(fp16, /^vision tower .*\(fp16\)/)).toBe(part(fp32, /^vision tower .*\(fp32\)/) / 2);
      const auto = chooseWeights({ ...base, choice: 'auto', budget: big });
      expect(auto.format).toBe('fp16');
      expect(auto.reason).toMatch(/^fp16: webgpu computes in fp16 and the estimate .* GiB fits/);
      // Between the fp16 and fp32 estimates fp16 is still the choice, and fp32 is refused pointing to it.
      expect(chooseWeights({ ...base, choice: 'auto', budget: fp16.totalBytes + MiB }).format).toBe('fp16');
      expect(() => chooseWeights({ ...base, choice: 'fp32', budget: fp16.totalBytes + MiB })).toThrow(
        /settings that fit: --weights fp16 with 512 tokens/,
      );

      const noF16 = { ...base, fp16: 'the WebGPU adapter has no shader-f16 feature' };
      expect(() => chooseWeights({ ...noF16, choice: 'fp16', budget: big })).toThrow(
        '--weights fp16: webgpu cannot compute in fp16 here (the WebGPU adapter has no shader-f16 feature); use int8 or int4',
      );
      const fallback = chooseWeights({ ...noF16, choice: 'auto', budget: big });
      expect(fallback.format).toBe('fp32');
      expect(fallback.reason).toMatch(/^fp32: webgpu cannot compute in fp16 \(the WebGPU adapter has no shader-f16/);
      // On the CPU fp16 is never chosen by auto, and an explicit one is planned with its fp32 copies beside it.
      const cpu = chooserInput(c, 'cpu', CPU_FP16);
      expect(chooseWeights({ ...cpu, choice: 'auto', budget: big }).format).toBe('fp32');
      const cpu16 = chooseWeights({ ...cpu, choice: 'fp16', budget: big });
      expect(cpu16.reason).toBe(`fp16: asked for (${CPU_FP16})`);
      expect(part(cpu16.plan, /^language model weights/)).toBe(1.5 * part(fp32, /^language model weights/));
    } finally {
      await c.close();
    }
  });
});
