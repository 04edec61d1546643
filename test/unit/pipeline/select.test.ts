import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, modeDisagreement, reselect } from '../../../electron/pipeline/select/decide';
import { charEditDistance, tokenEditDistance } from '../../../electron/pipeline/select/edit-distance';
import {
  computeMetrics,
  perplexityFromLogProbs,
  perplexityFromMaxProb,
} from '../../../electron/pipeline/select/metrics';
import { DEFAULT_SETTINGS, resolveSettings } from '../../../shared/pipeline/defaults';
import { FORMATS, IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import type { GenerationMetrics } from '../../../shared/pipeline/types';
import { metrics } from './metrics';

const S = DEFAULT_SETTINGS.selection;

describe('reference decisions with the default table', () => {
  // [case, metrics, expected decision, failed checks]: boundaries of MIA-DPO.md's table.
  const cases: [string, Partial<GenerationMetrics>, 'keep' | 'drop', string[]][] = [
    ['sequence 2 at 0.8 (<=)', { format: 'sequence', imageCount: 2, attentionRatio: 0.8 }, 'keep', []],
    ['sequence 2 above 0.8', { format: 'sequence', imageCount: 2, attentionRatio: 0.8001 }, 'drop', ['attention']],
    ['sequence 3 at 0.7', { format: 'sequence', imageCount: 3, attentionRatio: 0.7 }, 'keep', []],
    ['sequence 4 at 0.61', { format: 'sequence', imageCount: 4, attentionRatio: 0.61 }, 'drop', ['attention']],
    ['sequence 5 at 0.6', { format: 'sequence', imageCount: 5, attentionRatio: 0.6 }, 'keep', []],
    ['grid 2 at 0.7 (<)', { format: 'grid', imageCount: 2, attentionRatio: 0.7 }, 'drop', ['attention']],
    ['grid 2 below 0.7', { format: 'grid', imageCount: 2, attentionRatio: 0.69 }, 'keep', []],
    ['grid 3 at 0.6', { format: 'grid', imageCount: 3, attentionRatio: 0.6 }, 'drop', ['attention']],
    ['grid 4 at 0.49', { format: 'grid', imageCount: 4, attentionRatio: 0.49 }, 'keep', []],
    ['grid 6 at 0.4', { format: 'grid', imageCount: 6, attentionRatio: 0.4 }, 'drop', ['attention']],
    ['grid 9 at 0.29', { format: 'grid', imageCount: 9, attentionRatio: 0.29 }, 'keep', []],
    ['pip at 0.8', { format: 'pip', imageCount: 2, attentionRatio: 0.8 }, 'drop', ['attention']],
    ['pip at 0.79', { format: 'pip', imageCount: 2, attentionRatio: 0.79 }, 'keep', []],
    ['NaN ratio', { attentionRatio: NaN }, 'drop', ['attention']],
    ['grid of 5: no threshold', { format: 'grid', imageCount: 5, attentionRatio: 0.1 }, 'drop', ['attention']],
    ['ground truth 511 chars', { groundTruthChars: 511 }, 'keep', []],
    ['ground truth 512 chars', { groundTruthChars: 512 }, 'drop', ['ground-truth-length']],
    ['identical answer', { identical: true }, 'drop', ['different']],
    ['empty response', { responseBlank: true, identical: false }, 'drop', ['non-empty']],
    ['perplexity exactly 1.1', { pplMaxProb: 1.1 }, 'drop', ['perplexity']],
    ['perplexity 1.1001', { pplMaxProb: 1.1001 }, 'keep', []],
    [
      'several failures',
      { attentionRatio: 0.95, pplMaxProb: 1.0, identical: true },
      'drop',
      ['different', 'attention', 'perplexity'],
    ],
  ];
  it.each(cases)('%s', (_name, over, decision, failed) => {
    const d = decide(metrics(over), S);
    expect(d.decision).toBe(decision);
    expect(d.failed).toEqual(failed);
    expect(d.reasons.length).toBeGreaterThan(0);
  });

  it('says why, with the numbers', () => {
    expect(decide(metrics({ attentionRatio: 0.83 }), S).reasons).toEqual([
      'attention ratio 0.83 > 0.8 (sequence, 2 images)',
    ]);
    expect(decide(metrics({ format: 'grid', imageCount: 2, attentionRatio: 0.7 }), S).reasons).toEqual([
      'attention ratio 0.7 >= 0.7 (grid, 2 images)',
    ]);
    const keep = decide(metrics({ attentionRatio: 0.42 }), S);
    expect(keep.reasons).toContain('attention ratio 0.42 <= 0.8 (sequence, 2 images)');
    expect(keep.reasons).toContain('max-prob perplexity 1.5 within (1.1, inf]');
  });

  it('post-selection bounds are off by default and apply when set', () => {
    const m = metrics({ lengthRatio: 3, editDistanceChars: 2, editDistanceTokens: null });
    expect(decide(m, S).decision).toBe('keep');
    const s = resolveSettings({ selection: { post: { lengthRatio: { max: 2 }, editDistance: { min: 5 } } } }).selection;
    expect(decide(m, s).failed).toEqual(['length-ratio', 'edit-distance']);
    const tokens = resolveSettings({ selection: { post: { editDistance: { unit: 'tokens', min: 1 } } } }).selection;
    expect(decide(m, tokens).reasons).toEqual(['edit distance (tokens) unavailable outside [1, inf]']);
    const truePpl = resolveSettings({ selection: { post: { perplexity: { kind: 'true' } } } }).selection;
    expect(decide(metrics({ pplMaxProb: 1.0, pplTrue: 3 }), truePpl).decision).toBe('keep');
  });

  it('exact-region mode reads the exact ratio, and disagreement is counted', () => {
    const all = [
      metrics({ attentionRatio: 0.5, exactRatio: 0.9 }),
      metrics({ attentionRatio: 0.9, exactRatio: 0.85 }),
      metrics({ exactRatio: null }),
    ];
    const exact = { ...S, attentionMode: 'exact-region' as const };
    expect(decide(all[0]!, exact).failed).toEqual(['attention']);
    expect(decide(all[2]!, exact).failed).toEqual(['attention']);
    expect(modeDisagreement(all, S)).toEqual({ compared: 2, disagree: 1, rate: 0.5 });
  });
});

const arbMetrics = fc
  .record({
    fi: fc.integer({ min: 0, max: 2 }),
    ci: fc.nat(),
    ratio: fc.double({ min: 0, max: 1, noNaN: true }),
    ppl: fc.double({ min: 1, max: 3, noNaN: true }),
    gt: fc.integer({ min: 0, max: 700 }),
    identical: fc.boolean(),
  })
  .map(({ fi, ci, ratio, ppl, gt, identical }) => {
    const format = FORMATS[fi]!;
    const counts = IMAGE_COUNTS[format];
    return metrics({
      format,
      imageCount: counts[ci % counts.length]!,
      attentionRatio: ratio,
      pplMaxProb: ppl,
      groundTruthChars: gt,
      identical,
    });
  });

describe('re-selection', () => {
  it('changing one threshold changes only decisions of that format and count whose ratio lies between the old and new value', () => {
    fc.assert(
      fc.property(
        fc.array(arbMetrics, { minLength: 1, maxLength: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (all, value) => {
          const before = reselect(all, S);
          const s2 = resolveSettings({ selection: { thresholds: { grid: { '4': { value } } } } }).selection;
          const after = reselect(all, s2);
          all.forEach((m, i) => {
            if (before[i] === after[i]) return;
            expect(m.format).toBe('grid');
            expect(m.imageCount).toBe(4);
            expect(m.attentionRatio).toBeGreaterThanOrEqual(Math.min(0.5, value));
            expect(m.attentionRatio).toBeLessThanOrEqual(Math.max(0.5, value));
          });
        },
      ),
    );
  });

  it('bulk masks agree with single decisions', () => {
    fc.assert(
      fc.property(fc.array(arbMetrics, { maxLength: 100 }), (all) => {
        const masks = reselect(all, S);
        all.forEach((m, i) => expect(masks[i] === 0).toBe(decide(m, S).decision === 'keep'));
      }),
    );
  });
});

describe('post-selection metrics', () => {
  it('perplexity from max probabilities and from log-probabilities', () => {
    expect(perplexityFromMaxProb([1, 1, 1])).toBe(1);
    expect(perplexityFromMaxProb([0.5, 0.5])).toBeCloseTo(2);
    expect(perplexityFromMaxProb([0.9, 0.4])).toBeCloseTo(Math.exp(-(Math.log(0.9) + Math.log(0.4)) / 2));
    expect(perplexityFromLogProbs([Math.log(0.25), Math.log(0.25)])).toBeCloseTo(4);
    expect(Number.isNaN(perplexityFromMaxProb([]))).toBe(true);
  });

  it('Levenshtein distance: known values and metric properties', () => {
    expect(charEditDistance('kitten', 'sitting')).toBe(3);
    expect(charEditDistance('', 'abc')).toBe(3);
    expect(charEditDistance('flaw', 'lawn')).toBe(2);
    expect(charEditDistance('a😀b', 'ab')).toBe(1);
    expect(tokenEditDistance([1, 2, 3, 4], [1, 3, 4, 5])).toBe(2);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        (a, b, c) => {
          const ab = charEditDistance(a, b);
          expect(ab).toBe(charEditDistance(b, a));
          expect(ab === 0).toBe(a === b);
          expect(ab).toBeLessThanOrEqual(Math.max([...a].length, [...b].length));
          expect(ab).toBeLessThanOrEqual(charEditDistance(a, c) + charEditDistance(c, b));
        },
      ),
    );
  });

  it('computes stored metrics from a generation', () => {
    const m = computeMetrics({
      id: 'x',
      format: 'grid',
      imageCount: 4,
      targetIndex: 2,
      groundTruth: 'A red car.',
      response: 'A blue car.',
      attentionRatio: 0.3,
      maxProbs: [0.5, 0.5],
      logProbs: [Math.log(0.5), Math.log(0.25)],
      responseTokens: [1, 2, 3],
      groundTruthTokens: [1, 4, 3],
    });
    expect(m).toMatchObject({
      groundTruthChars: 10,
      responseChars: 11,
      identical: false,
      editDistanceChars: 4,
      editDistanceTokens: 1,
      exactRatio: null,
    });
    expect(m.lengthRatio).toBeCloseTo(1.1);
    expect(m.pplMaxProb).toBeCloseTo(2);
    expect(m.pplTrue).toBeCloseTo(Math.sqrt(8));
    expect(
      computeMetrics({ ...m, groundTruth: ' same', response: 'same ', maxProbs: [], logProbs: [] }).identical,
    ).toBe(true);
  });
});

describe('settings', () => {
  it('overrides one number and keeps the rest', () => {
    const s = resolveSettings({ selection: { thresholds: { sequence: { '3': { value: 0.65 } } } } });
    expect(s.selection.thresholds.sequence['3']).toEqual({ op: '<=', value: 0.65 });
    expect(s.selection.thresholds.grid).toEqual(DEFAULT_SETTINGS.selection.thresholds.grid);
  });
  it('names the bad field and refuses unknown keys', () => {
    expect(() => resolveSettings({ selection: { groundTruthMaxChars: -1 } }, 'thresholds.json')).toThrow(
      /thresholds.json: invalid setting selection.groundTruthMaxChars/,
    );
    expect(() =>
      resolveSettings({ selection: { thresholds: { grid: { '5': { op: '<', value: 0.5 } } } } }, 't.json'),
    ).toThrow(/t.json: invalid setting selection.thresholds.grid/);
  });
});
