// Weight formats end to end on a tiny random model (issue 15): int8 and int4
// `score` log-probs within a stated tolerance of fp32, the quantized weights
// cached (a second open reads the file without rewriting it; a changed source
// gets a new entry; a damaged entry is refused naming the file), the format in
// the model id, and the CLI options (fp16 compute: fp16-compute.test.ts).
import { mkdtempSync, readdirSync, statSync, truncateSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../../electron/cli/run';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import { Checkpoint } from '../../../../electron/engine/models/checkpoint';
import { quantizedWeights } from '../../../../electron/engine/models/quantized';
import type { WeightsChoice } from '../../../../shared/weights';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

let modelDir: string;
let cacheDir: string;
const RESPONSES = ['A cat sits on the mat.', 'There is nothing to see here at all.'];

async function score(weights: WeightsChoice, block?: 32 | 128) {
  const s = await LlavaSession.open({
    modelDir,
    ep: 'cpu',
    weights,
    weightsCacheDir: cacheDir,
    ...(block ? { weightBlock: block } : {}),
  });
  try {
    const r = await s.score({ images: [], prompt: 'What is on the mat?', responses: RESPONSES });
    return { id: s.modelId, why: s.weights, logprobs: r.token_logprobs.flat() };
  } finally {
    await s.close();
  }
}

beforeAll(async () => {
  // Every decoder linear has rows of 64 or 128 inputs, so every one is quantized.
  ({ dir: modelDir } = await writeTinyLlava({ seed: 3, textLayers: 2, size: { hidden: 64, inter: 128, headDim: 16 } }));
  cacheDir = mkdtempSync(path.join(tmpdir(), 'weight-cache-'));
});

describe('weight formats', () => {
  let fp32: Awaited<ReturnType<typeof score>>;
  beforeAll(async () => {
    fp32 = await score('fp32');
  });

  // The random model is sharp (mean |log-prob| about 12 nats per token), so errors are stated relative to
  // the mean |fp32 log-prob|. Measured: int8 mean 0.8%, max 1.6%; int4 mean 6.6%, max 17.5%. Bounds about 2x.
  const errors = new Map<string, number>();
  it.each([
    ['int8', 0.02, 0.04],
    ['int4', 0.15, 0.35],
  ] as const)(
    '%s token log-probs: mean error within %f, max within %f of the mean |fp32 log-prob|',
    async (format, meanTol, maxTol) => {
      const q = await score(format);
      expect(q.id).toBe(`${fp32.id}:${format}`);
      const scale = fp32.logprobs.reduce((a, b) => a + Math.abs(b), 0) / fp32.logprobs.length;
      const diffs = q.logprobs.map((v, i) => Math.abs(v - fp32.logprobs[i]!) / scale);
      const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
      expect(mean).toBeLessThan(meanTol);
      expect(Math.max(...diffs)).toBeLessThan(maxTol);
      expect(mean).toBeGreaterThan(0); // the quantized weights were really used
      errors.set(format, mean);
    },
  );

  it('int8 is several times closer to fp32 than int4', () => {
    expect(errors.get('int8')! * 3).toBeLessThan(errors.get('int4')!);
  });

  it('names a block other than 32 in the model id', async () => {
    const q = await score('int4', 128);
    expect(q.id).toBe(`${fp32.id}:int4-b128`);
  });

  it('auto keeps fp32 when it fits and says why', async () => {
    const a = await score('auto');
    expect(a.id).toBe(fp32.id);
    expect(a.why).toMatch(/^fp32: the fp32 estimate .* GiB fits in .* GiB of memory$/);
    expect(a.logprobs).toEqual(fp32.logprobs);
  });
});

describe('the quantized weight cache', () => {
  let checkpoint: Checkpoint;
  beforeAll(async () => {
    checkpoint = await Checkpoint.open(modelDir);
  });
  afterAll(() => checkpoint.close());

  it('is read on the second load, not rebuilt', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'weight-cache-'));
    const first = await quantizedWeights(checkpoint, { bits: 8, block: 32 }, root);
    expect(first.built).toBe(true);
    const file = path.join(first.dir, 'model.safetensors');
    const written = statSync(file).mtimeMs;
    const second = await quantizedWeights(checkpoint, { bits: 8, block: 32 }, root);
    expect(second.built).toBe(false);
    expect(second.dir).toBe(first.dir);
    expect(statSync(file).mtimeMs).toBe(written);
    expect([...second.quantized].sort()).toEqual([...first.quantized].sort());
    // No temporary files are left behind.
    expect(readdirSync(first.dir)).toEqual(['model.safetensors']);
  });

  it('keys entries by the source: a changed weight file gets a new entry', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'weight-cache-'));
    const a = await quantizedWeights(checkpoint, { bits: 4, block: 32 }, root);
    const weights = path.join(modelDir, 'model.safetensors');
    const t = statSync(weights);
    utimesSync(weights, t.atime, new Date(t.mtimeMs + 5000));
    const b = await quantizedWeights(checkpoint, { bits: 4, block: 32 }, root);
    expect(b.built).toBe(true);
    expect(b.dir).not.toBe(a.dir);
  });

  it('refuses a damaged entry naming the file and how to rebuild it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'weight-cache-'));
    const q = await quantizedWeights(checkpoint, { bits: 4, block: 32 }, root);
    const file = path.join(q.dir, 'model.safetensors');
    truncateSync(file, statSync(file).size - 100);
    await expect(quantizedWeights(checkpoint, { bits: 4, block: 32 }, root)).rejects.toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining(file),
    });
  });
});

describe('--weights and --weight-block', () => {
  async function cli(argv: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
    const code = await runCli(argv, { stdout: sink(() => undefined), stderr: sink((s) => (err += s)), tty: false });
    return { code, err };
  }

  it('score prints the format and why; a block other than 32 or 128 is a usage error', async () => {
    const saved = process.env.MIA_DPO_CACHE;
    process.env.MIA_DPO_CACHE = mkdtempSync(path.join(tmpdir(), 'cli-cache-'));
    try {
      const base = ['score', '--model', modelDir, '--prompt', 'Hi', '--response', 'Hello', '--ep', 'cpu'];
      const ok = await cli([...base, '--weights', 'int8', '--weight-block', '128']);
      expect(ok.code).toBe(0);
      expect(ok.err).toContain('weights: int8: asked for');
      expect(readdirSync(path.join(process.env.MIA_DPO_CACHE, 'weights'))[0]).toMatch(/-int8-b128$/);
      const bad = await cli([...base, '--weights', 'int8', '--weight-block', '64']);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('--weight-block: must be 32 or 128');
    } finally {
      if (saved === undefined) delete process.env.MIA_DPO_CACHE;
      else process.env.MIA_DPO_CACHE = saved;
    }
  });
});
