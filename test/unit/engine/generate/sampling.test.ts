// Next-token choice: greedy is argmax; sampling is reproducible from a seed and
// respects top-k, top-p and the repetition penalty; log-probs come from the raw
// logits; invalid options are refused with the option named.
import { describe, expect, it } from 'vitest';
import {
  GREEDY,
  checkSampling,
  createRng,
  pickToken,
  type SamplingOptions,
} from '../../../../electron/engine/generate/sampling';

const LOGITS = Float32Array.from([1, 3, 2.5, -1, 0]);
const opts = (o: Partial<SamplingOptions>): SamplingOptions => ({ ...GREEDY, temperature: 1, ...o });

function counts(o: SamplingOptions, n = 4000): number[] {
  const rng = createRng(o.seed);
  const c = new Array<number>(LOGITS.length).fill(0);
  for (let i = 0; i < n; i++) c[pickToken(LOGITS, [], o, rng).token]!++;
  return c;
}

describe('pickToken', () => {
  it('greedy takes the argmax and reports raw log-softmax and max prob', () => {
    const c = pickToken(LOGITS, [], GREEDY, createRng(0));
    const z = Array.from(LOGITS).reduce((s, v) => s + Math.exp(v), 0);
    expect(c.token).toBe(1);
    expect(c.logprob).toBeCloseTo(3 - Math.log(z), 6);
    expect(c.maxProb).toBeCloseTo(Math.exp(3) / z, 6);
  });

  it('the repetition penalty divides positive logits of seen tokens (HF CTRL rule)', () => {
    expect(pickToken(LOGITS, [1], { ...GREEDY, repetitionPenalty: 1.5 }, createRng(0)).token).toBe(2);
    expect(pickToken(LOGITS, [1], { ...GREEDY, repetitionPenalty: 1.1 }, createRng(0)).token).toBe(1);
  });

  it('sampling follows softmax(logits / T) and repeats exactly with the same seed', () => {
    const c = counts(opts({ seed: 3 }));
    const z = Array.from(LOGITS).reduce((s, v) => s + Math.exp(v), 0);
    LOGITS.forEach((v, i) => expect(c[i]! / 4000).toBeCloseTo(Math.exp(v) / z, 1));
    expect(counts(opts({ seed: 3 }))).toEqual(c);
    expect(counts(opts({ seed: 4 }))).not.toEqual(c);
  });

  it('top-k keeps the k most likely tokens, top-p the smallest set reaching p', () => {
    expect(counts(opts({ topK: 2 })).map((x) => x > 0)).toEqual([false, true, true, false, false]);
    // p(1) = 0.53, p(2) = 0.32: 0.6 needs both, 0.5 only token 1.
    expect(counts(opts({ topP: 0.6 })).map((x) => x > 0)).toEqual([false, true, true, false, false]);
    expect(counts(opts({ topP: 0.5 })).map((x) => x > 0)).toEqual([false, true, false, false, false]);
  });

  it('refuses invalid options naming the option', () => {
    expect(() => checkSampling(opts({ temperature: -1 }))).toThrow(/temperature = -1/);
    expect(() => checkSampling(opts({ topP: 0 }))).toThrow(/topP = 0/);
    expect(() => checkSampling(opts({ topK: 1.5 }))).toThrow(/topK/);
    expect(() => checkSampling(opts({ repetitionPenalty: 0 }))).toThrow(/repetitionPenalty/);
  });
});
