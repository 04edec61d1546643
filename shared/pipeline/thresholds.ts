// The kept count of an attention threshold from the values it decides on
// (pipeline.select.curves): shared by the Thresholds page, which updates it
// live while a threshold is dragged, and the server's tests.
import type { AttentionCurve } from './commands';

/** How many of a curve's sorted values pass `value op threshold` (binary search). */
export function keptAt(sorted: readonly number[], op: '<' | '<=', threshold: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as number;
    if (op === '<' ? v < threshold : v <= threshold) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Kept over every curve, with `override` replacing one group's threshold (the one being dragged). */
export function keptTotal(
  curves: readonly Pick<AttentionCurve, 'format' | 'imageCount' | 'threshold' | 'passOthers'>[],
  override?: { format: string; imageCount: number; value: number },
): number {
  let kept = 0;
  for (const c of curves) {
    if (c.threshold === null) continue;
    const dragged = override !== undefined && override.format === c.format && override.imageCount === c.imageCount;
    kept += keptAt(c.passOthers, c.threshold.op, dragged ? override.value : c.threshold.value);
  }
  return kept;
}
