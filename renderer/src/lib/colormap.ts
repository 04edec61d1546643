// Viridis, the colour-blind-safe perceptually uniform scale (matplotlib's,
// sampled at 17 stops and interpolated linearly), for attention heatmaps.

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84],
  [72, 23, 105],
  [72, 43, 115],
  [67, 62, 133],
  [62, 74, 137],
  [56, 88, 140],
  [49, 104, 142],
  [43, 117, 142],
  [38, 130, 142],
  [33, 145, 140],
  [31, 158, 137],
  [40, 174, 128],
  [63, 188, 115],
  [94, 201, 98],
  [132, 212, 75],
  [181, 222, 43],
  [253, 231, 37],
];

/** The colour of t in [0, 1] (clamped; NaN is the low end). */
export function viridis(t: number): [number, number, number] {
  const x = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  const f = x * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(f));
  const u = f - i;
  const a = VIRIDIS[i]!;
  const b = VIRIDIS[i + 1]!;
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * u)) as [number, number, number];
}

/** A CSS linear-gradient of the scale, left (low) to right (high), for legends. */
export function viridisGradient(): string {
  return `linear-gradient(to right, ${VIRIDIS.map(([r, g, b]) => `rgb(${r} ${g} ${b})`).join(', ')})`;
}
