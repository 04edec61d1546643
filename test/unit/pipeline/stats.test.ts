import { describe, expect, it } from 'vitest';
import { reselect } from '../../../electron/pipeline/select/decide';
import {
  attentionHistograms,
  histogram,
  metricHistograms,
  summarize,
} from '../../../electron/pipeline/stats/histogram';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import { metrics } from './metrics';

const S = DEFAULT_SETTINGS.selection;

describe('statistics', () => {
  it('bins values, with the top edge in the last bin and out-of-range counted apart', () => {
    const h = histogram([0, 0.1, 0.5, 0.99, 1, -0.1, 1.5, NaN, null], 4, 0, 1);
    expect(h.counts).toEqual([2, 0, 1, 2]);
    expect([h.below, h.above, h.missing]).toEqual([1, 1, 2]);
    expect(h.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(() => histogram([], 0, 0, 1)).toThrow(/bins >= 1/);
  });

  it('attention histograms per format and count carry their threshold', () => {
    const all = [
      metrics({ format: 'grid', imageCount: 4, attentionRatio: 0.2 }),
      metrics({ format: 'sequence', imageCount: 2, attentionRatio: 0.9 }),
      metrics({ format: 'grid', imageCount: 4, attentionRatio: 0.7 }),
    ];
    const hs = attentionHistograms(all, S, 10);
    expect(
      hs.map((h) => [h.format, h.imageCount, h.threshold?.value, h.histogram.counts.reduce((s, c) => s + c, 0)]),
    ).toEqual([
      ['sequence', 2, 0.8, 1],
      ['grid', 4, 0.5, 2],
    ]);
    expect(hs[1]!.histogram.counts[2]).toBe(1);
  });

  it('post-selection histograms span the data', () => {
    const h = metricHistograms([metrics({ lengthRatio: 0.5 }), metrics({ lengthRatio: 2.5 })], S, 2);
    expect(h.lengthRatio.edges).toEqual([0.5, 1.5, 2.5]);
    expect(h.lengthRatio.counts).toEqual([1, 1]);
  });

  it('counts kept samples, per-format yield and the checks that rejected', () => {
    const all = [
      metrics({ format: 'sequence' }),
      metrics({ format: 'sequence', attentionRatio: 0.99 }),
      metrics({ format: 'pip', attentionRatio: 0.1, identical: true }),
      metrics({ format: 'pip', attentionRatio: 0.1 }),
    ];
    const s = summarize(all, reselect(all, S));
    expect(s.kept).toBe(2);
    expect(s.byFormat.sequence).toEqual({ total: 2, kept: 1, yield: 0.5 });
    expect(s.byFormat.grid).toEqual({ total: 0, kept: 0, yield: 0 });
    expect(s.failedBy).toMatchObject({ attention: 1, different: 1, perplexity: 0 });
  });
});
