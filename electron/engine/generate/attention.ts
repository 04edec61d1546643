// Turns the head-averaged attention rows that decode steps output into what
// MIA-DPO selects on: per image, the mean attention over its token span and
// the (side x side) map, both averaged over the recorded steps.
import { AppError } from '../../../shared/errors';
import type { ImageSpan } from '../text/image-tokens';

export type { ImageSpan };

export interface ImageAttention {
  /** Mean over the span's tokens of the step-averaged attention. */
  mean: number;
  /** Side of the square map, or null when the span is not a square (e.g. a kept class token). */
  side: number | null;
  /** Row-major side x side step-averaged attention, or the flat span when not square. */
  map: Float64Array;
}

/** Step-averaged attention of each image's tokens; rows[s][k] is step s's attention on key k. */
export function imageAttention(rows: readonly Float32Array[], spans: readonly ImageSpan[]): ImageAttention[] {
  if (rows.length === 0)
    throw new AppError(
      'bad-input',
      'no attention rows were recorded: generate at least 2 tokens, or include the prefill row',
    );
  return spans.map((span, image) => {
    const n = span.end - span.start;
    const map = new Float64Array(n);
    for (const row of rows) {
      if (row.length < span.end)
        throw new AppError(
          'internal',
          `attention row of ${row.length} keys does not cover image ${image + 1} at ${span.start}-${span.end}`,
        );
      for (let i = 0; i < n; i++) map[i]! += row[span.start + i]!;
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += map[i]! /= rows.length;
    const side = Math.round(Math.sqrt(n));
    return { mean: sum / n, side: side * side === n ? side : null, map };
  });
}

/** exp(-mean(log p)): with p the chosen tokens' probabilities this is the true perplexity; with max p, MIA-DPO's. */
export function perplexity(logProbs: readonly number[]): number {
  if (logProbs.length === 0) return NaN;
  return Math.exp(-logProbs.reduce((s, v) => s + v, 0) / logProbs.length);
}
