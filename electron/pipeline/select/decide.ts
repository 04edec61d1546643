// Selection decisions from stored metrics: one sample with its reasons, or a
// whole project at once (re-selection after a threshold change, no
// re-generation). A sample is kept when every enabled check passes.
import type { SelectionSettings } from '../../../shared/pipeline/settings';
import type { Check, Decision, GenerationMetrics } from '../../../shared/pipeline/types';
import { CHECKS } from '../../../shared/pipeline/types';
import { CHECK_RULES } from './checks';

/** Bit i set = CHECKS[i] failed; 0 = keep. */
export function failedMask(m: GenerationMetrics, s: SelectionSettings): number {
  let mask = 0;
  for (let i = 0; i < CHECKS.length; i++) {
    const rule = CHECK_RULES[CHECKS[i] as Check];
    if (rule.enabled(s) && !rule.passes(m, s)) mask |= 1 << i;
  }
  return mask;
}

export function maskToChecks(mask: number): Check[] {
  return CHECKS.filter((_, i) => (mask & (1 << i)) !== 0);
}

export function decide(m: GenerationMetrics, s: SelectionSettings): Decision {
  const failed = maskToChecks(failedMask(m, s));
  const keep = failed.length === 0;
  const reasons = CHECKS.filter((c) => CHECK_RULES[c].enabled(s) && (keep || failed.includes(c))).map((c) =>
    CHECK_RULES[c].explain(m, s, keep),
  );
  return { decision: keep ? 'keep' : 'drop', reasons, failed };
}

/** Failed-check masks for every sample, in order: the instant re-selection. */
export function reselect(all: readonly GenerationMetrics[], s: SelectionSettings): Uint16Array {
  const enabled = CHECKS.map((c) => CHECK_RULES[c].enabled(s));
  const rules = CHECKS.map((c) => CHECK_RULES[c]);
  const out = new Uint16Array(all.length);
  for (let k = 0; k < all.length; k++) {
    const m = all[k] as GenerationMetrics;
    let mask = 0;
    for (let i = 0; i < rules.length; i++)
      if (enabled[i] && !(rules[i] as (typeof rules)[number]).passes(m, s)) mask |= 1 << i;
    out[k] = mask;
  }
  return out;
}

/** Attention-only decisions under both modes: how often reference and exact-region disagree. */
export function modeDisagreement(
  all: readonly GenerationMetrics[],
  s: SelectionSettings,
): { compared: number; disagree: number; rate: number } {
  const ref = { ...s, attentionMode: 'reference' as const };
  const exact = { ...s, attentionMode: 'exact-region' as const };
  let compared = 0;
  let disagree = 0;
  for (const m of all) {
    if (m.exactRatio === null) continue;
    compared++;
    if (CHECK_RULES.attention.passes(m, ref) !== CHECK_RULES.attention.passes(m, exact)) disagree++;
  }
  return { compared, disagree, rate: compared === 0 ? 0 : disagree / compared };
}
