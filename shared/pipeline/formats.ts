// The three MIA-DPO multi-image formats and the image counts each allows.
// Shared by the pipeline (augmentation, selection) and the UI (labels, filters).

export const FORMATS = ['sequence', 'grid', 'pip'] as const;
export type Format = (typeof FORMATS)[number];

/** Image counts per format; pic-in-pic is always one host plus one inset. */
export const IMAGE_COUNTS = {
  sequence: [2, 3, 4, 5],
  grid: [2, 3, 4, 6, 9],
  pip: [2],
} as const satisfies Record<Format, readonly number[]>;

export type ImageCount<F extends Format> = (typeof IMAGE_COUNTS)[F][number];

export function isAllowedCount(format: Format, count: number): boolean {
  return (IMAGE_COUNTS[format] as readonly number[]).includes(count);
}
