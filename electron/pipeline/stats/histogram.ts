// Fixed-bin histograms for the selection statistics (the paper's Figure 5 and
// the post-selection metrics), plus the counts kept and per-format yield at
// the current settings.
import type { Format } from '../../../shared/pipeline/formats';
import { FORMATS } from '../../../shared/pipeline/formats';
import type { SelectionSettings } from '../../../shared/pipeline/settings';
import type { GenerationMetrics } from '../../../shared/pipeline/types';
import { CHECKS } from '../../../shared/pipeline/types';
import { attentionValue, thresholdFor } from '../select/checks';

export interface Histogram {
  /** bins + 1 edges; bin i is [edges[i], edges[i+1]), the last bin includes its right edge. */
  edges: number[];
  counts: number[];
  below: number;
  above: number;
  /** NaN or null values. */
  missing: number;
}

export function histogram(values: Iterable<number | null>, bins: number, min: number, max: number): Histogram {
  if (!(bins >= 1) || !(max > min))
    throw new RangeError(`histogram needs bins >= 1 and max > min (got ${bins}, [${min}, ${max}])`);
  const width = (max - min) / bins;
  const h: Histogram = {
    edges: Array.from({ length: bins + 1 }, (_, i) => min + i * width),
    counts: new Array<number>(bins).fill(0),
    below: 0,
    above: 0,
    missing: 0,
  };
  for (const v of values) {
    if (v === null || Number.isNaN(v)) h.missing++;
    else if (v < min) h.below++;
    else if (v > max) h.above++;
    else h.counts[Math.min(bins - 1, Math.floor((v - min) / width))]!++;
  }
  return h;
}

/** Bounds from the data (finite values only), for metrics without a natural range. */
export function dataRange(values: readonly (number | null)[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return { min: 0, max: 1 };
  return max > min ? { min, max } : { min, max: min + 1 };
}

export interface AttentionHistogram {
  format: Format;
  imageCount: number;
  threshold: { op: '<' | '<='; value: number } | null;
  histogram: Histogram;
}

/** Attention ratio (in the selected mode) per format and image count, on [0, 1]. */
export function attentionHistograms(
  all: readonly GenerationMetrics[],
  s: SelectionSettings,
  bins = 20,
): AttentionHistogram[] {
  const groups = new Map<string, GenerationMetrics[]>();
  for (const m of all) {
    const key = `${m.format}:${m.imageCount}`;
    const g = groups.get(key);
    if (g) g.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.values()]
    .map((g) => {
      const first = g[0] as GenerationMetrics;
      return {
        format: first.format,
        imageCount: first.imageCount,
        threshold: thresholdFor(first, s) ?? null,
        histogram: histogram(
          g.map((m) => attentionValue(m, s)),
          bins,
          0,
          1,
        ),
      };
    })
    .sort((a, b) => FORMATS.indexOf(a.format) - FORMATS.indexOf(b.format) || a.imageCount - b.imageCount);
}

export function metricHistograms(
  all: readonly GenerationMetrics[],
  s: SelectionSettings,
  bins = 20,
): Record<'perplexity' | 'lengthRatio' | 'editDistance', Histogram> {
  const of = (values: (number | null)[]) => {
    const r = dataRange(values);
    return histogram(values, bins, r.min, r.max);
  };
  return {
    perplexity: of(all.map((m) => (s.post.perplexity.kind === 'maxprob' ? m.pplMaxProb : m.pplTrue))),
    lengthRatio: of(all.map((m) => m.lengthRatio)),
    editDistance: of(
      all.map((m) => (s.post.editDistance.unit === 'chars' ? m.editDistanceChars : m.editDistanceTokens)),
    ),
  };
}

export interface SelectionSummary {
  total: number;
  kept: number;
  byFormat: Record<Format, { total: number; kept: number; yield: number }>;
  /** How many samples each check rejected (a sample may fail several). */
  failedBy: Record<string, number>;
}

/** `masks` from `reselect` (same order as `all`). */
export function summarize(all: readonly GenerationMetrics[], masks: Uint16Array): SelectionSummary {
  const byFormat = Object.fromEntries(
    FORMATS.map((f) => [f, { total: 0, kept: 0, yield: 0 }]),
  ) as SelectionSummary['byFormat'];
  const failedBy = Object.fromEntries(CHECKS.map((c) => [c, 0]));
  let kept = 0;
  all.forEach((m, k) => {
    const mask = masks[k] as number;
    byFormat[m.format].total++;
    if (mask === 0) {
      kept++;
      byFormat[m.format].kept++;
    }
    CHECKS.forEach((c, i) => {
      if (mask & (1 << i)) failedBy[c]!++;
    });
  });
  for (const f of FORMATS) byFormat[f].yield = byFormat[f].total === 0 ? 0 : byFormat[f].kept / byFormat[f].total;
  return { total: all.length, kept, byFormat, failedBy };
}
