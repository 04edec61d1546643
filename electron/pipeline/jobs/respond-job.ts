// The response-generation job (issue #4, step 3): runs one model over every
// augmented sample it has not answered yet, one sample per unit, so each
// generation commits with the cursor before the next starts (a crash loses
// at most the sample in flight, and a resumed run continues after it).
import { z } from 'zod';
import { AppError, type ErrorKind } from '../../../shared/errors';
import { resolveSettings } from '../../../shared/pipeline/defaults';
import { RespondOptions } from '../../../shared/pipeline/respond';
import type { JobKind, JobRun } from '../../jobs/kind';
import { generationImages } from '../perturb/generation-images';
import { hashSeed } from '../random';
import type { ResponseEngine, ResponseRequest, ResponseResult } from '../respond/engine-interface';
import type { RespondQueries, RespondSample } from '../respond/queries';
import { responseRecord, type ResponseSettings } from '../respond/record';
import { ModelEngine } from '../respond/model-engine';

/** The respond request with the model folder resolved, plus the project's settings patch at submit time. */
export const RespondParams = RespondOptions.omit({ model: true }).extend({
  modelDir: z.string().min(1),
  /** A partial PipelineSettings (perturbation, geometry, attention); defaults are the reference's. */
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type RespondParams = z.output<typeof RespondParams>;

export const RespondCursor = z.object({
  /** Id of the last augmented sample handled. */
  after: z.int().nonnegative(),
  done: z.int().nonnegative(),
});
export type RespondCursor = z.infer<typeof RespondCursor>;

/** A ResponseEngine the job owns: opened in `plan`, closed with the run. */
export interface JobEngine extends ResponseEngine {
  readonly layer: number;
  readonly ep: { ep: string };
  /** The weight format and why it was chosen, when the engine chose one. */
  readonly weights?: string;
  /** Token ids of plain text, for the token edit distance against the ground truth. */
  tokenize(text: string): number[];
  close(): Promise<void>;
}

/** Error kinds that concern one sample, not the model or the project. */
const SAMPLE_ERRORS: ReadonlySet<ErrorKind> = new Set(['bad-input', 'bad-file', 'not-found']);

interface Prepared {
  sample: RespondSample | null;
  images: ResponseRequest['images'];
  seed: number;
  imagesMs: number;
}

export type OpenEngine = (params: RespondParams) => Promise<JobEngine>;

/** The default: the model's graphs run in the engine's session worker, so session.run never blocks the server or the UI. */
const openModelEngine: OpenEngine = (p) =>
  ModelEngine.open({
    modelDir: p.modelDir,
    ep: p.ep,
    weights: p.weights,
    weightBlock: p.weightBlock,
    aspect: p.aspect,
    template: p.template,
    ...(p.adapter === undefined ? {} : { adapter: p.adapter }),
    ...(p.layer === undefined ? {} : { layer: p.layer }),
  });

/** The job kind; `open` is how a run gets its engine (the bench passes one already warm). */
export function createRespondJob(
  open: OpenEngine = openModelEngine,
): JobKind<RespondParams, RespondCursor, RespondQueries> {
  return {
    kind: 'respond',
    params: RespondParams,
    cursor: RespondCursor,
    label: (p) =>
      `respond with ${p.modelDir}${p.adapter === undefined ? '' : ` + ${p.adapter}`}${p.perturb ? ', perturbed' : ''}, seed ${p.seed}`,
    async plan(params, ctx): Promise<JobRun<RespondCursor, RespondQueries>> {
      const pipeline = resolveSettings(params.settings, 'respond settings');
      const engine = await open(params);
      let pending: number[];
      try {
        pending = await ctx.store.call('pendingResponses', {
          model: engine.modelId,
          aspect: params.aspect,
          template: params.template,
        });
      } catch (e) {
        await engine.close();
        throw e;
      }
      ctx.log(
        'info',
        `responding with ${engine.modelId} on ${engine.ep.ep}${engine.weights ? ` (weights ${engine.weights})` : ''}, attention layer ${engine.layer}, ${params.aspect} preprocessing, ${params.template} template: ` +
          `${pending.length} sample(s) to answer`,
      );
      // The next sample is read and its images decoded while the model answers the current one.
      const prepare = async (id: number): Promise<Prepared> => {
        const sample = await ctx.store.call('respondSample', { id });
        if (sample === null) return { sample, images: [], seed: 0, imagesMs: 0 };
        const started = performance.now();
        const seed = hashSeed(`${params.seed}:${sample.planId}`);
        const images = await generationImages(sample, pipeline.perturb, { perturb: params.perturb, seed });
        return {
          sample,
          images: images.map((im) => ({ ...im, channels: 3 as const })),
          seed,
          imagesMs: performance.now() - started,
        };
      };
      let prefetched: { id: number; ready: Promise<Prepared> } | null = null;
      const take = (id: number): Promise<Prepared> => (prefetched?.id === id ? prefetched.ready : prepare(id));
      /**
       * The engine's answer to one sample, or null when there is none to store: the sample was deleted since the plan,
       * or it has a problem of its own (an unreadable image, a prompt longer than the context) that would stop every
       * resumed run at the same place, so it is logged and stays unanswered. Anything else fails the job.
       */
      const answer = async (
        id: number,
        prepared: Promise<Prepared>,
      ): Promise<{ sample: RespondSample; seed: number; imagesMs: number; result: ResponseResult } | null> => {
        try {
          const { sample, images, seed, imagesMs } = await prepared;
          if (sample === null) return null;
          const result = await engine.generate({
            prompt: sample.prompt,
            images,
            layer: engine.layer,
            maxNewTokens: params.maxNewTokens,
            temperature: params.temperature,
            seed,
            signal: ctx.signal,
          });
          return { sample, seed, imagesMs, result };
        } catch (e) {
          if (!(e instanceof AppError) || !SAMPLE_ERRORS.has(e.kind)) throw e;
          ctx.log('warn', `augmented sample ${id} skipped: ${e.message}`);
          return null;
        }
      };
      const settingsFor = (sample: RespondSample, seed: number): ResponseSettings => {
        const noise = pipeline.perturb[sample.format];
        return {
          model: engine.modelId,
          layer: engine.layer,
          maxNewTokens: params.maxNewTokens,
          temperature: params.temperature,
          seed,
          jobSeed: params.seed,
          perturbation:
            params.perturb && noise.enabled
              ? {
                  format: sample.format,
                  std: noise.std,
                  overflow: noise.overflow,
                  region: pipeline.perturb.grid.region,
                }
              : null,
          ep: engine.ep.ep,
          aspect: params.aspect,
          template: params.template,
        };
      };
      let at = 0;
      return {
        async runUnit(cursor) {
          const after = cursor?.after ?? 0;
          const doneBefore = cursor?.done ?? 0;
          while (at < pending.length && pending[at]! <= after) at++;
          const id = pending[at];
          if (id === undefined)
            return {
              cursor: { after, done: doneBefore },
              done: doneBefore,
              total: doneBefore,
              write: null,
              finished: true,
            };
          const started = performance.now();
          const current = take(id);
          const next = pending[at + 1];
          prefetched = next === undefined ? null : { id: next, ready: prepare(next) };
          // A failure surfaces when that sample's unit takes it; until then it must not count as unhandled.
          prefetched?.ready.catch(() => undefined);
          const answered = await answer(id, current);
          const done = doneBefore + 1;
          const unit = {
            cursor: { after: id, done },
            done,
            total: done + pending.length - at - 1,
            finished: at === pending.length - 1,
          };
          if (answered === null) return { ...unit, write: null };
          const { sample, seed, imagesMs, result } = answered;
          const record = responseRecord({
            sample,
            result,
            settings: settingsFor(sample, seed),
            pipeline,
            jobId: ctx.jobId,
            groundTruthTokens: engine.tokenize(sample.groundTruth),
            timing: { imagesMs, totalMs: performance.now() - started },
          });
          return { ...unit, write: { method: 'insertResponse', args: record } };
        },
        finish: async () => null,
        close: () => engine.close(),
      };
    },
    // Generations already committed are complete answers: a cancelled run keeps them.
    discard: () => null,
  };
}

export const respondJob = createRespondJob();
