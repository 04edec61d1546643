// Viridis, the colour-blind-safe perceptually uniform scale (matplotlib's,
// at the 11 stops 0, 0.1, ..., 1 as d3's scheme lists them, interpolated
// linearly), for attention heatmaps.

const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84], // #440154
  [72, 36, 117], // #482475
  [65, 68, 135], // #414487
  [53, 95, 141], // #355f8d
  [42, 120, 142], // #2a788e
  [33, 145, 140], // #21918c
  [34, 168, 132], // #22a884
  [68, 191, 112], // #44bf70
  [122, 209, 81], // #7ad151
  [189, 223, 38], // #bddf26
  [253, 231, 37], // #fde725
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
