// The paper's figures from a project (issue 14, item 5): Figure 5 (the
// attention-ratio histograms with the selection thresholds) and Figure 6
// (one item's attention before and after the adapter). Previews return the
// SVG the server draws; `figures.render` writes PNG, SVG and data JSON into
// `<project>/figures/` with a `figures` job. Decision 0820.
import { z } from 'zod';
import { Id } from '../api/domain';
import { AttentionDiff } from './eval';

export const FIGURES = ['attention-ratios', 'attention-before-after'] as const;
export type FigureName = (typeof FIGURES)[number];

/** The project folder the figures are written to. */
export const FIGURES_DIR = 'figures';

/** File stem per figure: `<stem>.png`, `.svg` and `.json` (the data drawn). */
export const FIGURE_STEMS: Record<FigureName, string> = {
  'attention-ratios': 'figure5-attention-ratios',
  'attention-before-after': 'figure6-attention-before-after',
};

/** Which item and eval runs Figure 6 shows; absent: chosen as decision 0820 says. */
export const BeforeAfterChoice = z.strictObject({
  /** A benchmark item (its id, as eval.items and eval.side give it). */
  item: Id.optional(),
  /** Before (base) and after (adapter) eval runs of one benchmark, generate mode. */
  runs: z.tuple([Id, Id]).optional(),
});
export type BeforeAfterChoice = z.output<typeof BeforeAfterChoice>;

const Svg = z.object({ svg: z.string() });

export const FIGURE_COMMANDS = {
  /** Figure 5 with the project's thresholds after `patch` (a draft of the Thresholds page); writes nothing. */
  'figures.attentionRatios': {
    request: z.strictObject({ patch: z.record(z.string(), z.unknown()).default({}) }),
    response: Svg.extend({ answers: z.int().nonnegative() }),
  },
  /** Figure 6 of one item and two runs (both models answer it again), with the maps and their difference; writes nothing. */
  'figures.beforeAfter': {
    request: BeforeAfterChoice,
    response: Svg.extend({ item: Id, runs: z.tuple([Id, Id]), diff: AttentionDiff }),
  },
  /** Writes the figures (default both) into `<project>/figures/` with a `figures` job; refuses at once without their data. */
  'figures.render': {
    request: z.strictObject({
      figures: z
        .array(z.enum(FIGURES))
        .min(1)
        .default([...FIGURES]),
      /** Settings patch for Figure 5's thresholds (not stored); default the project's. */
      patch: z.record(z.string(), z.unknown()).optional(),
      ...BeforeAfterChoice.shape,
    }),
    response: z.object({ jobId: Id }),
  },
} as const satisfies Record<string, { request: z.ZodType; response: z.ZodType }>;
