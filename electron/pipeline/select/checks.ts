// The selection checks of MIA-DPO.md (steps 4 and 5), one entry per check in
// a table complete by type: a fast predicate for bulk re-selection and a
// message for the reasons a person reads. Bounds that are null are off.
import type { Comparison, SelectionSettings } from '../../../shared/pipeline/settings';
import type { Check, GenerationMetrics } from '../../../shared/pipeline/types';

export interface CheckRule {
  /** False when the check is switched off by the settings (then it neither passes nor fails). */
  enabled(s: SelectionSettings): boolean;
  passes(m: GenerationMetrics, s: SelectionSettings): boolean;
  explain(m: GenerationMetrics, s: SelectionSettings, passed: boolean): string;
}

export function compare(value: number, op: Comparison, limit: number): boolean {
  return op === '<' ? value < limit : value <= limit;
}

/** Inclusive bounds; NaN never passes an active bound. */
function withinBounds(value: number | null, min: number | null, max: number | null): boolean {
  if (min === null && max === null) return true;
  if (value === null || Number.isNaN(value)) return false;
  return (min === null || value >= min) && (max === null || value <= max);
}

function fmt(v: number | null): string {
  if (v === null) return 'unavailable';
  return Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, '');
}

export function attentionValue(m: GenerationMetrics, s: SelectionSettings): number | null {
  return s.attentionMode === 'reference' ? m.attentionRatio : m.exactRatio;
}

export function thresholdFor(
  m: Pick<GenerationMetrics, 'format' | 'imageCount'>,
  s: SelectionSettings,
): { op: Comparison; value: number } | undefined {
  return (s.thresholds[m.format] as Record<string, { op: Comparison; value: number }>)[String(m.imageCount)];
}

function pplValue(m: GenerationMetrics, s: SelectionSettings): number {
  return s.post.perplexity.kind === 'maxprob' ? m.pplMaxProb : m.pplTrue;
}

function editValue(m: GenerationMetrics, s: SelectionSettings): number | null {
  return s.post.editDistance.unit === 'chars' ? m.editDistanceChars : m.editDistanceTokens;
}

const negate = (op: Comparison): string => (op === '<' ? '>=' : '>');

export const CHECK_RULES = {
  'non-empty': {
    enabled: (s) => s.requireNonEmpty,
    passes: (m) => !m.responseBlank && !m.groundTruthBlank,
    explain: (m, _s, ok) =>
      ok ? 'response and ground truth are non-empty' : m.responseBlank ? 'response is empty' : 'ground truth is empty',
  },
  different: {
    enabled: (s) => s.requireDifferent,
    passes: (m) => !m.identical,
    explain: (_m, _s, ok) => (ok ? 'response differs from the ground truth' : 'response equals the ground truth'),
  },
  'ground-truth-length': {
    enabled: () => true,
    passes: (m, s) => m.groundTruthChars < s.groundTruthMaxChars,
    explain: (m, s, ok) =>
      `ground truth is ${m.groundTruthChars} characters (${ok ? '<' : '>='} ${s.groundTruthMaxChars})`,
  },
  attention: {
    enabled: () => true,
    passes: (m, s) => {
      const t = thresholdFor(m, s);
      const v = attentionValue(m, s);
      return t !== undefined && v !== null && compare(v, t.op, t.value);
    },
    explain: (m, s, ok) => {
      const t = thresholdFor(m, s);
      const what = `${m.format}, ${m.imageCount} images`;
      if (!t) return `no attention threshold for ${what}`;
      const mode = s.attentionMode === 'reference' ? 'attention ratio' : 'exact-region attention ratio';
      return `${mode} ${fmt(attentionValue(m, s))} ${ok ? t.op : negate(t.op)} ${t.value} (${what})`;
    },
  },
  perplexity: {
    enabled: (s) => s.post.perplexity.min !== null || s.post.perplexity.max !== null,
    // The reference keeps ppl > 1.1: the lower bound is exclusive, the upper inclusive.
    passes: (m, s) => {
      const v = pplValue(m, s);
      const { min, max } = s.post.perplexity;
      return (min === null || v > min) && (max === null || v <= max);
    },
    explain: (m, s, ok) => {
      const name = s.post.perplexity.kind === 'maxprob' ? 'max-prob perplexity' : 'perplexity';
      const { min, max } = s.post.perplexity;
      return `${name} ${fmt(pplValue(m, s))} ${ok ? 'within' : 'outside'} (${min ?? '-inf'}, ${max ?? 'inf'}]`;
    },
  },
  'length-ratio': {
    enabled: (s) => s.post.lengthRatio.min !== null || s.post.lengthRatio.max !== null,
    passes: (m, s) => withinBounds(m.lengthRatio, s.post.lengthRatio.min, s.post.lengthRatio.max),
    explain: (m, s, ok) =>
      `length ratio ${fmt(m.lengthRatio)} ${ok ? 'within' : 'outside'} [${s.post.lengthRatio.min ?? '-inf'}, ${s.post.lengthRatio.max ?? 'inf'}]`,
  },
  'edit-distance': {
    enabled: (s) => s.post.editDistance.min !== null || s.post.editDistance.max !== null,
    passes: (m, s) => withinBounds(editValue(m, s), s.post.editDistance.min, s.post.editDistance.max),
    explain: (m, s, ok) =>
      `edit distance (${s.post.editDistance.unit}) ${fmt(editValue(m, s))} ${ok ? 'within' : 'outside'} [${s.post.editDistance.min ?? '-inf'}, ${s.post.editDistance.max ?? 'inf'}]`,
  },
} satisfies Record<Check, CheckRule>;
