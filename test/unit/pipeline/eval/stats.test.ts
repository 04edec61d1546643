// Statistics of eval runs against hand computations (issue 10, item 3):
// Wilson intervals, the exact binomial McNemar p-value, the paired table and
// bootstrap interval, and the comparison views built on them (runs x
// benchmarks table with deltas, side by side with its filters).
import { describe, expect, it } from 'vitest';
import { compareRuns, evalTable, runSummary, sideBySide } from '../../../../electron/pipeline/eval/compare';
import type { EvalResultRow } from '../../../../electron/pipeline/eval/queries';
import { accuracy, byCategory, mcnemarExact, paired, wilson } from '../../../../electron/pipeline/eval/stats';

describe('Wilson interval', () => {
  it('matches hand computations', () => {
    // 8/10: p = .8, z^2 = 3.841459; (0.992073 -+ 0.313616) / 1.384146.
    const [lo, hi] = wilson(8, 10);
    expect(lo).toBeCloseTo(0.490164, 5);
    expect(hi).toBeCloseTo(0.943318, 5);
    // 0/10: [0, z^2/n / (1 + z^2/n)] = [0, 0.384146 / 1.384146].
    expect(wilson(0, 10)[0]).toBe(0);
    expect(wilson(0, 10)[1]).toBeCloseTo(0.277533, 5);
    expect(wilson(10, 10)[1]).toBeCloseTo(1, 12);
    expect(wilson(0, 0)).toEqual([0, 0]);
  });

  it('gives accuracy per category in sorted order', () => {
    expect(accuracy([true, false, true, true])).toMatchObject({ n: 4, correct: 3, accuracy: 0.75 });
    const cats = byCategory([
      { category: 'b', correct: true },
      { category: 'a', correct: false },
      { category: 'b', correct: false },
    ]);
    expect(cats.map((c) => [c.category, c.n, c.correct])).toEqual([
      ['a', 1, 0],
      ['b', 2, 1],
    ]);
  });
});

describe('exact McNemar', () => {
  it('is twice the binomial tail of the smaller discordant count', () => {
    // n = 7: P[X <= 1] = (1 + 7) / 128.
    expect(mcnemarExact(1, 6)).toBeCloseTo(0.125, 12);
    expect(mcnemarExact(6, 1)).toBeCloseTo(0.125, 12);
    // n = 5: 2 / 32.
    expect(mcnemarExact(0, 5)).toBeCloseTo(0.0625, 12);
    // n = 20, k = 5: 2 * (1 + 20 + 190 + 1140 + 4845 + 15504) / 2^20.
    expect(mcnemarExact(5, 15)).toBeCloseTo((2 * 21700) / 1048576, 12);
    expect(mcnemarExact(3, 3)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
  });
});

describe('paired comparison', () => {
  const a = [true, true, false, false, true, false, true, false, false, true];
  const b = [true, false, true, true, true, true, true, false, true, true];
  it('counts the 2x2 table and delta = acc(B) - acc(A)', () => {
    const p = paired(a, b, { seed: 1, resamples: 2000 });
    expect(p).toMatchObject({ n: 10, both_right: 4, a_only: 1, b_only: 4, both_wrong: 1 });
    expect(p.accuracy_a).toBeCloseTo(0.5, 12);
    expect(p.accuracy_b).toBeCloseTo(0.8, 12);
    expect(p.delta).toBeCloseTo(0.3, 12);
    // n = 5: 2 * (1 + 5) / 32.
    expect(p.mcnemar_p).toBeCloseTo(0.375, 12);
    expect(p.delta_ci95[0]).toBeLessThan(p.delta);
    expect(p.delta_ci95[1]).toBeGreaterThan(p.delta);
    expect(p.delta_ci95[0]).toBeGreaterThanOrEqual(-1);
  });
  it('is seeded, and degenerate when every item moves the same way', () => {
    // 23 items: resampled deltas are multiples of 1/23, so quantiles between them show the seed.
    const la = Array.from({ length: 23 }, (_, i) => i % 3 === 0);
    const lb = Array.from({ length: 23 }, (_, i) => i % 2 === 0);
    const one = paired(la, lb, { seed: 7, resamples: 999 });
    expect(paired(la, lb, { seed: 7, resamples: 999 }).delta_ci95).toEqual(one.delta_ci95);
    expect(paired(la, lb, { seed: 8, resamples: 999 }).delta_ci95).not.toEqual(one.delta_ci95);
    expect(paired([false, false], [true, true], { seed: 1, resamples: 100 }).delta_ci95).toEqual([1, 1]);
    expect(() => paired([true], [], { seed: 1, resamples: 100 })).toThrow(RangeError);
  });
});

const outcome = (itemId: number, category: string, correct: boolean) => ({ itemId, category, correct });
const row = (itemId: number, category: string, correct: boolean): EvalResultRow => ({
  itemId,
  index: String(itemId),
  category,
  question: `q${itemId}`,
  imageIds: [itemId],
  answer: 'A',
  prompt: '',
  promptIds: [],
  response: correct ? 'A' : 'B',
  responseIds: [],
  prediction: correct ? 'A' : 'B',
  correct,
  optionIds: null,
  optionScores: null,
  perImageMean: null,
});

describe('comparison views', () => {
  it('compares runs on shared items only, with per-category deltas', () => {
    const c = compareRuns(
      {
        id: 1,
        outcomes: [outcome(1, 'x', true), outcome(2, 'x', false), outcome(3, 'y', false), outcome(9, 'y', true)],
      },
      { id: 2, outcomes: [outcome(1, 'x', true), outcome(2, 'x', true), outcome(3, 'y', true)] },
      { seed: 0, resamples: 200 },
    );
    expect(c).toMatchObject({ n: 3, both_right: 1, b_only: 2, a_only: 0 });
    expect(c.per_category).toEqual([
      { category: 'x', n: 2, accuracy_a: 0.5, accuracy_b: 1, delta: 0.5 },
      { category: 'y', n: 1, accuracy_a: 0, accuracy_b: 1, delta: 1 },
    ]);
  });

  it('lays out runs x benchmarks with deltas to the baseline row of the same mode', () => {
    const base = { jobId: 1, mode: 'generate' as const, decoding: {}, items: 2, createdAt: 0 };
    const runs = [
      runSummary({ ...base, id: 1, modelId: 'base', benchmarkId: 1, benchmark: 'B1' }, [
        outcome(1, 'x', true),
        outcome(2, 'x', false),
      ]),
      runSummary({ ...base, id: 2, modelId: 'base+lora', benchmarkId: 1, benchmark: 'B1' }, [
        outcome(1, 'x', true),
        outcome(2, 'x', true),
      ]),
      runSummary({ ...base, id: 3, modelId: 'base+lora', benchmarkId: 2, benchmark: 'B2' }, [outcome(3, 'x', true)]),
    ];
    const t = evalTable(runs);
    expect(t.benchmarks).toEqual([
      { id: 1, name: 'B1' },
      { id: 2, name: 'B2' },
    ]);
    expect(t.rows.map((r) => r.modelId)).toEqual(['base', 'base+lora']);
    expect(t.rows[0]!.cells[0]).toMatchObject({ runId: 1, accuracy: 0.5, delta: null });
    expect(t.rows[0]!.cells[1]).toBeNull();
    expect(t.rows[1]!.cells[0]).toMatchObject({ runId: 2, accuracy: 1, delta: 0.5 });
    expect(t.rows[1]!.cells[1]).toMatchObject({ runId: 3, delta: null });
    expect(evalTable(runs, 'base+lora').rows[0]!.cells[0]!.delta).toBeCloseTo(-0.5, 12);
  });

  it('pairs items side by side with category and disagreement filters', () => {
    const a = [row(1, 'x', true), row(2, 'x', false), row(3, 'y', true), row(4, 'y', false)];
    const b = [row(1, 'x', true), row(2, 'x', true), row(3, 'y', false), row(4, 'y', false)];
    const all = sideBySide(a, b, {}, { offset: 0, limit: 10 });
    expect(all.items.map((i) => i.agreement)).toEqual(['both_right', 'b_only', 'a_only', 'both_wrong']);
    expect(sideBySide(a, b, { disagree: true }, { offset: 0, limit: 10 }).items.map((i) => i.itemId)).toEqual([2, 3]);
    expect(sideBySide(a, b, { category: 'y', agreement: ['both_wrong'] }, { offset: 0, limit: 10 }).total).toBe(1);
    const page = sideBySide(a, b, {}, { offset: 1, limit: 2 });
    expect([page.total, page.items.map((i) => i.itemId)]).toEqual([4, [2, 3]]);
    expect(page.items[0]!.b).toEqual({ prediction: 'A', response: 'A', correct: true });
  });
});
