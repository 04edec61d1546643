// The reference MIA-DPO numbers (MIA-DPO.md) as default settings, and a
// deep merge so a user file may override any subset of them.
import { AppError } from '../errors';
import type { PipelineSettings, ThresholdTable } from './settings';
import { PipelineSettingsSchema } from './settings';

/** Sequence uses <=, grid and pic-in-pic use <, exactly as the paper's table. */
export const REFERENCE_THRESHOLDS: ThresholdTable = {
  sequence: {
    '2': { op: '<=', value: 0.8 },
    '3': { op: '<=', value: 0.7 },
    '4': { op: '<=', value: 0.6 },
    '5': { op: '<=', value: 0.6 },
  },
  grid: {
    '2': { op: '<', value: 0.7 },
    '3': { op: '<', value: 0.6 },
    '4': { op: '<', value: 0.5 },
    '6': { op: '<', value: 0.4 },
    '9': { op: '<', value: 0.3 },
  },
  pip: { '2': { op: '<', value: 0.8 } },
};

export const DEFAULT_SETTINGS: PipelineSettings = {
  mix: {
    formats: { sequence: 15.1, grid: 9.3, pip: 4.5 },
    // Samples per image count in the official notebooks (decision 0105): the 62k sequence mix the DPO script reads
    // (mix_data.ipynb; 0.549/0.161/0.159/0.131) and the grid mix (make_data_pingtu_v1.ipynb; 0.483/0.139/0.139/0.117/0.121).
    sequenceCounts: { '2': 34300, '3': 10050, '4': 9950, '5': 8161 },
    gridCounts: { '2': 26000, '3': 7500, '4': 7500, '6': 6300, '9': 6519 },
  },
  geometry: { tileSize: 448, margin: 40, labelOffsetX: 20, labelFontPx: 36, labelPrefix: 'Image', pipScale: 0.7 },
  perturb: {
    grid: { enabled: true, std: 225, region: 'cell', overflow: 'clip' },
    pip: { enabled: true, std: 49, overflow: 'wrap' },
    sequence: { enabled: false, std: 49, overflow: 'wrap' },
  },
  attention: { pipCentreFraction: 16 / 24 },
  selection: {
    attentionMode: 'reference',
    thresholds: REFERENCE_THRESHOLDS,
    groundTruthMaxChars: 512,
    requireDifferent: true,
    requireNonEmpty: true,
    post: {
      perplexity: { kind: 'maxprob', min: 1.1, max: null },
      lengthRatio: { min: null, max: null },
      editDistance: { unit: 'chars', min: null, max: null },
    },
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = deepMerge(base[k], v);
  return out;
}

/**
 * Defaults overridden by `patch` (any subset, e.g. one threshold), validated.
 * `source` names the file or field the patch came from, for the error message.
 */
export function resolveSettings(patch: unknown = {}, source = 'settings'): PipelineSettings {
  const parsed = PipelineSettingsSchema.safeParse(deepMerge(DEFAULT_SETTINGS, patch));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '?';
    throw new AppError('bad-input', `${source}: invalid setting ${where}: ${issue?.message ?? 'invalid'}`, {
      subject: source,
    });
  }
  return parsed.data;
}
