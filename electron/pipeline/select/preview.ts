// What the Thresholds page reads (issue 11): the attention values each
// threshold decides on, so a dragged threshold updates the kept count exactly
// without a round trip, and a preview of the decisions a selection run would
// change, compared with the stored ones. Both only read stored metrics.
import type { AttentionCurve, SelectionChange } from '../../../shared/pipeline/commands';
import { FORMATS } from '../../../shared/pipeline/formats';
import type { SelectionSettings } from '../../../shared/pipeline/settings';
import { CHECKS, type GenerationMetrics } from '../../../shared/pipeline/types';
import { attentionValue, thresholdFor } from './checks';
import { decide, reselect } from './decide';

const ATTENTION_BIT = 1 << CHECKS.indexOf('attention');

/**
 * Per format and image count: the attention values of the generations that
 * pass every check but attention, sorted. Kept at a threshold = how many of
 * them compare true with it (`keptAt`), which is what selection decides.
 */
export function attentionCurves(all: readonly GenerationMetrics[], s: SelectionSettings): AttentionCurve[] {
  const masks = reselect(all, s);
  const groups = new Map<string, AttentionCurve>();
  all.forEach((m, k) => {
    const key = `${m.format}:${m.imageCount}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = {
        format: m.format,
        imageCount: m.imageCount,
        threshold: thresholdFor(m, s) ?? null,
        total: 0,
        passOthers: [],
      };
      groups.set(key, g);
    }
    g.total++;
    const v = attentionValue(m, s);
    if (((masks[k] as number) & ~ATTENTION_BIT) === 0 && v !== null && !Number.isNaN(v)) g.passOthers.push(v);
  });
  const curves = [...groups.values()];
  for (const c of curves) c.passOthers.sort((a, b) => a - b);
  return curves.sort((a, b) => FORMATS.indexOf(a.format) - FORMATS.indexOf(b.format) || a.imageCount - b.imageCount);
}

export interface SelectionPreview {
  total: number;
  kept: number;
  toKeep: number;
  toDrop: number;
  examples: SelectionChange[];
}

/** The decisions under `s` against the stored ones (`stored` in the order of `all`, by generation id). */
export function previewSelection(
  all: readonly GenerationMetrics[],
  stored: readonly { generationId: number; decision: 'keep' | 'drop' | null; pairId: number | null }[],
  s: SelectionSettings,
  examples: number,
): SelectionPreview {
  const byId = new Map(stored.map((d) => [d.generationId, d]));
  const masks = reselect(all, s);
  const out: SelectionPreview = { total: all.length, kept: 0, toKeep: 0, toDrop: 0, examples: [] };
  all.forEach((m, k) => {
    const after = masks[k] === 0 ? 'keep' : 'drop';
    if (after === 'keep') out.kept++;
    const id = Number(m.id);
    const was = byId.get(id);
    const before = was?.decision ?? null;
    if (before === after) return;
    if (after === 'keep') out.toKeep++;
    else out.toDrop++;
    if (out.examples.length < examples) {
      const d = decide(m, s);
      out.examples.push({
        generationId: id,
        pairId: was?.pairId ?? null,
        format: m.format,
        imageCount: m.imageCount,
        before,
        after,
        reasons: d.reasons,
      });
    }
  });
  return out;
}
