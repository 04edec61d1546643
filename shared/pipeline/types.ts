// Domain types of the MIA-DPO pipeline that the UI and the CLI see: an
// augmented sample's plan and provenance, the stored metrics of a generation,
// and a selection decision with its reasons.
import type { Format } from './formats';

/** One turn of a LLaVA-style conversation. */
export interface Turn {
  from: 'human' | 'gpt';
  value: string;
}

/** A single-image instruction sample as imported. */
export interface SourceSample {
  id: string;
  /** Content hash (or any unique key) of the sample's image. */
  imageId: string;
  conversations: Turn[];
}

/**
 * One multi-image sample to build. `images` lists image ids in prompt order
 * (sequence and grid: position n is `Image{n}`; pip: [host, inset]).
 */
export interface AugmentPlan {
  id: string;
  sourceSampleId: string;
  format: Format;
  images: string[];
  /** 1-based position of the source image in `images` (pip: always 2, the inset). */
  targetIndex: number;
  /** Pic-in-pic only: index into the centre-phrase list of the first human turn (later turns draw their own; decision 0105). */
  phraseIndex?: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GridTile {
  /** 1-based, as in the label `Image{n}`. */
  index: number;
  /** The 448x448 slot. */
  slot: Rect;
  /** Where the resized image is pasted (top-left of the slot). */
  content: Rect;
  /** Where the label `Image{n}` is drawn: pen start at x, the font's ascender line at y (Pillow's `la` anchor). */
  label: { x: number; y: number };
}

/** Where a composite came from: enough to rebuild or audit it. */
export interface CompositeProvenance {
  kind: 'grid' | 'pip';
  sourceSampleId: string;
  images: string[];
  targetIndex: number;
  canvas: { width: number; height: number };
  /** Grid: one per image; pip: [host, inset]. */
  tiles: Rect[];
  /** sha256 of the rendered PNG. */
  sha256: string;
}

/** Per-generation numbers that selection reads; computed once when stored. */
export interface GenerationMetrics {
  id: string;
  format: Format;
  imageCount: number;
  targetIndex: number;
  /** Ratio by the reference split; `exactRatio` by exact regions (null if unknown). */
  attentionRatio: number;
  exactRatio: number | null;
  perImageMean: number[] | null;
  pplMaxProb: number;
  pplTrue: number;
  groundTruthChars: number;
  responseChars: number;
  /** Only whitespace (or nothing). */
  responseBlank: boolean;
  groundTruthBlank: boolean;
  /** Trimmed response equals trimmed ground truth. */
  identical: boolean;
  lengthRatio: number;
  editDistanceChars: number;
  editDistanceTokens: number | null;
}

export const CHECKS = [
  'non-empty',
  'different',
  'ground-truth-length',
  'attention',
  'perplexity',
  'length-ratio',
  'edit-distance',
] as const;
export type Check = (typeof CHECKS)[number];

export interface Decision {
  decision: 'keep' | 'drop';
  /** Drop: every failed check; keep: every check that passed. */
  reasons: string[];
  failed: Check[];
}
