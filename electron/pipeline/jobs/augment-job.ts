// The augmentation job (issue #4, step 1): plans every multi-image sample up
// front from a seed (pure, so a resumed run recomputes the same plan), then
// per unit renders the grid and pic-in-pic composites into the project cache,
// rewrites the prompts and commits the rows with the cursor.
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import { AugmentOptions } from '../../../shared/pipeline/augment';
import type { PipelineSettings } from '../../../shared/pipeline/settings';
import type { AugmentPlan, CompositeProvenance, Turn } from '../../../shared/pipeline/types';
import type { JobKind, JobRun } from '../../jobs/kind';
import { CENTRE_PHRASES } from '../augment/centre-phrases';
import { planAugmentation } from '../augment/plan';
import { rewriteConversation } from '../augment/prompts';
import { renderGrid } from '../composite/render-grid';
import { renderPip } from '../composite/render-pip';
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

async function buildRow(plan: AugmentPlan, bySha: Map<string, PipelineSource>, source: PipelineSource, conversation: readonly Turn[], settings: PipelineSettings, cacheDir: string): Promise<AugmentedRow> {
  const images = plan.images.map((sha) => bySha.get(sha) as PipelineSource);
  const composite = plan.format === 'sequence' ? null : { sourceSampleId: String(source.sampleId), images: images.map((im) => ({ id: im.sha256, file: im.path })), targetIndex: plan.targetIndex };
  let rendered: { path: string; provenance: CompositeProvenance } | null = null;
  if (composite && plan.format === 'grid') rendered = await renderGrid(composite, settings.geometry, cacheDir);
  if (composite && plan.format === 'pip') rendered = await renderPip(composite, settings.geometry, cacheDir);
  const rewritten = rewriteConversation(conversation, {
    format: plan.format,
    imageCount: plan.images.length,
    targetIndex: plan.targetIndex,
    labelPrefix: settings.geometry.labelPrefix,
    ...(plan.phraseIndex === undefined ? {} : { centrePhrase: CENTRE_PHRASES[plan.phraseIndex] as string }),
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
    if (sources.length === 0) throw new AppError('conflict', 'the project has no single-image samples without problems to augment: import a dataset first');
    // Images are identified by content, so two files with the same bytes never appear together.
    const bySha = new Map<string, PipelineSource>();
    for (const s of sources) if (!bySha.has(s.sha256)) bySha.set(s.sha256, s);
    const byId = new Map(sources.map((s) => [String(s.sampleId), s]));
    const plans = planAugmentation({
      samples: sources.map((s) => ({ id: String(s.sampleId), imageId: s.sha256 })),
      mix: settings.mix,
      seed: params.seed,
      phraseCount: CENTRE_PHRASES.length,
      ...(params.count === undefined ? {} : { count: params.count }),
      ...(params.formats === undefined ? {} : { formats: params.formats }),
    });
    const cacheDir = path.join(path.dirname(ctx.store.file), COMPOSITE_DIR);
    return {
      async runUnit(cursor) {
        const start = cursor?.next ?? 0;
        const slice = plans.slice(start, start + AUGMENT_UNIT);
        const conversations = await ctx.store.call('sampleConversations', { ids: slice.map((p) => Number(p.sourceSampleId)) });
        const rows: AugmentedRow[] = [];
        for (const plan of slice) {
          const source = byId.get(plan.sourceSampleId) as PipelineSource;
          rows.push(await buildRow(plan, bySha, source, conversations[source.sampleId] ?? [], settings, cacheDir));
        }
        const next = start + slice.length;
        return { cursor: { next }, done: next, total: plans.length, write: { method: 'insertAugmented', args: { jobId: ctx.jobId, rows } }, finished: next >= plans.length };
      },
      finish: async () => null,
      close: async () => undefined,
    };
  },
  discard: () => null,
};
