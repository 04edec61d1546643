// Statistics of eval runs (issue 10, item 3; docs/decisions/0630), pure:
// - accuracy with the Wilson score interval at 95% (z = 1.959964): unlike the
//   normal approximation it stays inside [0, 1] and is sensible at 0 or n
//   correct and for small n;
// - two runs on the same items: the 2x2 table (both right, only A, only B,
//   both wrong), the exact two-sided McNemar p-value (binomial test of the
//   discordant items against p = 1/2: min(1, 2 * P[X <= min(b, c)]) with
//   X ~ Bin(b + c, 1/2); 1 without discordant items), and delta =
//   acc(B) - acc(A) with a seeded paired bootstrap 95% percentile interval
//   (items resampled with replacement, both runs' outcomes kept together).
import { mulberry32 } from '../../common/mulberry32';

export const Z95 = 1.959963984540054;

/** Wilson score interval of `correct` out of `n` at 95%; [0, 0] when n is 0. */
export function wilson(correct: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 0];
  const p = correct / n;
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denom = 1 + z2 / n;
  return [Math.max(0, (centre - half) / denom), Math.min(1, (centre + half) / denom)];
}

export interface Accuracy {
  n: number;
  correct: number;
  accuracy: number;
  ci95: [number, number];
}

export function accuracy(outcomes: readonly boolean[]): Accuracy {
  const correct = outcomes.filter(Boolean).length;
  const n = outcomes.length;
  return { n, correct, accuracy: n === 0 ? 0 : correct / n, ci95: wilson(correct, n) };
}

/** Accuracy per category, categories in sorted order. */
export function byCategory(
  results: readonly { category: string; correct: boolean }[],
): (Accuracy & { category: string })[] {
  const groups = new Map<string, boolean[]>();
  for (const r of results) groups.set(r.category, [...(groups.get(r.category) ?? []), r.correct]);
  return [...groups.keys()].sort().map((category) => ({ category, ...accuracy(groups.get(category)!) }));
}

/** log(n choose k) by summed logs: exact enough for p-values at any benchmark size. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** Exact two-sided McNemar p-value from the discordant counts b (only A right) and c (only B right). */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

export interface Paired {
  n: number;
  both_right: number;
  a_only: number;
  b_only: number;
  both_wrong: number;
  accuracy_a: number;
  accuracy_b: number;
  mcnemar_p: number;
  delta: number;
  delta_ci95: [number, number];
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** Paired comparison of A and B on the same items (`a[i]` and `b[i]` are one item's outcomes). */
export function paired(a: readonly boolean[], b: readonly boolean[], o: { seed: number; resamples: number }): Paired {
  if (a.length !== b.length) throw new RangeError(`paired outcomes differ in length: ${a.length} and ${b.length}`);
  const n = a.length;
  let bothRight = 0;
  let aOnly = 0;
  let bOnly = 0;
  for (let i = 0; i < n; i++) {
    if (a[i] && b[i]) bothRight++;
    else if (a[i]) aOnly++;
    else if (b[i]) bOnly++;
  }
  const diff = a.map((x, i) => Number(b[i]) - Number(x));
  const delta = n === 0 ? 0 : (bOnly - aOnly) / n;
  let ci: [number, number] = [delta, delta];
  if (n > 0) {
    const rng = mulberry32(o.seed);
    const deltas: number[] = [];
    for (let r = 0; r < o.resamples; r++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += diff[Math.floor(rng() * n)]!;
      deltas.push(s / n);
    }
    deltas.sort((x, y) => x - y);
    ci = [quantile(deltas, 0.025), quantile(deltas, 0.975)];
  }
  return {
    n,
    both_right: bothRight,
    a_only: aOnly,
    b_only: bOnly,
    both_wrong: n - bothRight - aOnly - bOnly,
    accuracy_a: n === 0 ? 0 : (bothRight + aOnly) / n,
    accuracy_b: n === 0 ? 0 : (bothRight + bOnly) / n,
    mcnemar_p: mcnemarExact(aOnly, bOnly),
    delta,
    delta_ci95: ci,
  };
}
