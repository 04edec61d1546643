// The augmentation job (issue #4, step 1): plans every multi-image sample up
// front from a seed (pure, so a resumed run recomputes the same plan), then
// per unit renders the grid and pic-in-pic composites into the project cache,
// rewrites the prompts and commits the rows with the cursor. Its result counts
// the grounding and Visual Genome sources kept out of grid and pic-in-pic.
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import { AugmentOptions } from '../../../shared/pipeline/augment';
import { FORMATS } from '../../../shared/pipeline/formats';
import type { PipelineSettings } from '../../../shared/pipeline/settings';
import type { AugmentPlan, CompositeProvenance, Turn } from '../../../shared/pipeline/types';
import type { JobContext, JobKind, JobRun } from '../../jobs/kind';
import { CENTRE_PHRASES, turnPhrases } from '../augment/centre-phrases';
import type { PlanSource } from '../augment/plan';
import { planAugmentation } from '../augment/plan';
import { humanTurns, rewriteConversation } from '../augment/prompts';
import { isGrounding, llavaSubset } from '../augment/sources';
import { renderGrid } from '../composite/render-grid';
import { renderPip } from '../composite/render-pip';
import { createRng } from '../random';
import type { AugmentedRow, PipelineQueries, PipelineSource } from '../store/queries';

/** Augmented samples per committed unit. */
export const AUGMENT_UNIT = 16;
export const COMPOSITE_DIR = path.join('cache', 'composites');

/** The augment request plus the project's settings patch at submit time. */
export const AugmentParams = AugmentOptions.extend({
  /** A partial PipelineSettings (mix, geometry); defaults are the reference's. */
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type AugmentParams = z.output<typeof AugmentParams>;

export const AugmentCursor = z.object({ next: z.int().nonnegative() });
export type AugmentCursor = z.infer<typeof AugmentCursor>;

/** Conversations read per store call while looking for grounding samples. */
const GROUNDING_SCAN_BATCH = 2000;

/**
 * The plan's view of every source: its image's LLaVA-665k subset and, when a
 * composite format may be drawn, whether it is grounding data. Conversations
 * are read in batches (665k of them would not fit comfortably in memory).
 */
async function planSources(
  sources: readonly PipelineSource[],
  scanGrounding: boolean,
  ctx: JobContext<PipelineQueries>,
): Promise<PlanSource[]> {
  const grounding = new Set<number>();
  for (let i = 0; scanGrounding && i < sources.length; i += GROUNDING_SCAN_BATCH) {
    const ids = sources.slice(i, i + GROUNDING_SCAN_BATCH).map((s) => s.sampleId);
    const conversations = await ctx.store.call('sampleConversations', { ids });
    for (const id of ids) if (isGrounding(conversations[id] ?? [])) grounding.add(id);
  }
  return sources.map((s) => ({
    id: String(s.sampleId),
    imageId: s.sha256,
    subset: llavaSubset(s.path),
    grounding: grounding.has(s.sampleId),
  }));
}

async function buildRow(
  plan: AugmentPlan,
  bySha: Map<string, PipelineSource>,
  source: PipelineSource,
  conversation: readonly Turn[],
  settings: PipelineSettings,
  cacheDir: string,
): Promise<AugmentedRow> {
  const images = plan.images.map((sha) => bySha.get(sha) as PipelineSource);
  const composite =
    plan.format === 'sequence'
      ? null
      : {
          sourceSampleId: String(source.sampleId),
          images: images.map((im) => ({ id: im.sha256, file: im.path })),
          targetIndex: plan.targetIndex,
        };
  let rendered: { path: string; provenance: CompositeProvenance } | null = null;
  if (composite && plan.format === 'grid') rendered = await renderGrid(composite, settings.geometry, cacheDir);
  if (composite && plan.format === 'pip') rendered = await renderPip(composite, settings.geometry, cacheDir);
  const rewritten = rewriteConversation(conversation, {
    format: plan.format,
    imageCount: plan.images.length,
    targetIndex: plan.targetIndex,
    labelPrefix: settings.geometry.labelPrefix,
    // Later turns' phrases come from a stream of their own, keyed by the plan id, so a resumed job rewrites identically.
    ...(plan.phraseIndex === undefined
      ? {}
      : { centrePhrases: turnPhrases(plan.phraseIndex, humanTurns(conversation), createRng(`${plan.id}:phrases`)) }),
  });
  const prompt = rewritten.find((t) => t.from === 'human')?.value ?? '';
  const groundTruth = rewritten.find((t) => t.from === 'gpt')?.value ?? '';
  return {
    planId: plan.id,
    sourceSampleId: source.sampleId,
    format: plan.format,
    imageIds: images.map((im) => im.imageId),
    targetIndex: plan.targetIndex,
    compositePath: rendered?.path ?? null,
    provenance: rendered?.provenance ?? null,
    conversation: rewritten,
    prompt,
    groundTruth,
  };
}

export const augmentJob: JobKind<AugmentParams, AugmentCursor, PipelineQueries> = {
  kind: 'augment',
  params: AugmentParams,
  cursor: AugmentCursor,
  label: (p) => `augment ${p.count ?? 'all'} sample(s), seed ${p.seed}${p.formats ? `, ${p.formats.join('/')}` : ''}`,
  async plan(params, ctx): Promise<JobRun<AugmentCursor, PipelineQueries>> {
    const settings = resolveSettings(params.settings, 'augment settings');
    const sources = await ctx.store.call('pipelineSources');
    if (sources.length === 0)
      throw new AppError(
        'conflict',
        'the project has no single-image samples without problems to augment: import a dataset first',
      );
    // Images are identified by content, so two files with the same bytes never appear together.
    const bySha = new Map<string, PipelineSource>();
    for (const s of sources) if (!bySha.has(s.sha256)) bySha.set(s.sha256, s);
    const byId = new Map(sources.map((s) => [String(s.sampleId), s]));
    const formats = params.formats ?? FORMATS;
    const samples = await planSources(
      sources,
      formats.some((f) => f !== 'sequence'),
      ctx,
    );
    const { plans, keptOutOfComposites, skipped } = planAugmentation({
      samples,
      mix: settings.mix,
      seed: params.seed,
      phraseCount: CENTRE_PHRASES.length,
      ...(params.count === undefined ? {} : { count: params.count }),
      ...(params.formats === undefined ? {} : { formats: params.formats }),
    });
    if (plans.length === 0)
      throw new AppError(
        'conflict',
        `no sample can be augmented as ${formats.join(', ')}: ${skipped} grounding or Visual Genome sample(s) are kept out of grid and pic-in-pic`,
      );
    const { grounding, visualGenome } = keptOutOfComposites;
    if (grounding + visualGenome > 0)
      ctx.log(
        'info',
        `kept out of grid and pic-in-pic: ${grounding} grounding sample(s) (bounding boxes), ${visualGenome} Visual Genome sample(s)`,
      );
    const cacheDir = path.join(path.dirname(ctx.store.file), COMPOSITE_DIR);
    return {
      async runUnit(cursor) {
        const start = cursor?.next ?? 0;
        const slice = plans.slice(start, start + AUGMENT_UNIT);
        const conversations = await ctx.store.call('sampleConversations', {
          ids: slice.map((p) => Number(p.sourceSampleId)),
        });
        const rows: AugmentedRow[] = [];
        for (const plan of slice) {
          const source = byId.get(plan.sourceSampleId) as PipelineSource;
          rows.push(await buildRow(plan, bySha, source, conversations[source.sampleId] ?? [], settings, cacheDir));
        }
        const next = start + slice.length;
        return {
          cursor: { next },
          done: next,
          total: plans.length,
          write: { method: 'insertAugmented', args: { jobId: ctx.jobId, rows } },
          finished: next >= plans.length,
        };
      },
      finish: async () => ({ method: 'augmentSummary', args: { jobId: ctx.jobId, keptOutOfComposites, skipped } }),
      close: async () => undefined,
    };
  },
  discard: () => null,
};
