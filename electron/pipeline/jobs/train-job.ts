// The two job kinds of LoRA-DPO training (issue 9, decision 0610):
// - `train-reference`: the reference policy's summed log-probs of every pair not
//   scored yet under that model (base, or base + --ref-adapter), a few pairs a
//   unit, stored keyed by (model id, pair, token hash) and reused across runs;
// - `train`: one optimizer step a unit (its gradient-accumulation micro-batches),
//   the step's metrics committed with the cursor, a checkpoint every N steps and
//   at the end through the checkpoint store (its manifest recorded with the
//   step), and the final adapter exported as a PEFT folder at the output root.
// A run (re)starts from the newest complete checkpoint in `<out>/checkpoints`:
// everything that decides a step (data order, dropout masks, learning rate) is a
// function of the step index and the seed, and the checkpoint holds the LoRA
// weights, the AdamW moments and the step, so a resumed run computes exactly
// the steps an uninterrupted one would (bit-exact on the CPU).
import { z } from 'zod';
import type { TrainStepMetrics } from '../../../shared/pipeline/train';
import { ALL_TRAIN_LORA_TARGETS, TrainOptions } from '../../../shared/pipeline/train';
import { AppError } from '../../../shared/errors';
import { mulberry32 } from '../../common/mulberry32';
import { defaultWeightCacheDir } from '../../engine/generate/load';
import { openModelSession, type ModelSession } from '../../engine/generate/model-session';
import { openModel } from '../../engine/models/open';
import type { LoraWeights } from '../../engine/models/lora';
import {
  exportPeftAdapter,
  loadInitAdapter,
  type AdapterSettings,
  type AnyAdapterSettings,
} from '../../engine/models/peft-export';
import { acquireRuntime } from '../../engine/runtime/runtime';
import { latestCheckpoint, pruneCheckpoints, writeCheckpoint } from '../../engine/train/checkpoint-store';
import { learningRateSchedule } from '../../engine/train/schedule';
import {
  DpoTrainer,
  type DpoExample,
  type DpoTrainerOptions,
  type DpoTrainerState,
} from '../../engine/train/dpo/trainer';
import type { JobContext, JobKind, JobRun } from '../../jobs/kind';
import { hashSeed } from '../random';
import type { TrainExample } from '../train/data';
import type { CheckpointRecord, TrainQueries } from '../train/queries';

/** What both kinds store: the resolved request (absolute folders) plus the run it belongs to. */
export const TrainJobParams = TrainOptions.extend({
  /** The LoRA shape, resolved at start (LORA_DEFAULTS or the init adapter's). */
  loraR: z.int().positive(),
  loraAlpha: z.number().positive(),
  /** The model family's target names (checked against the model at start). */
  loraTargets: z.array(z.enum(ALL_TRAIN_LORA_TARGETS)).min(1),
  rslora: z.boolean(),
  runId: z.int().nonnegative(),
  datasetId: z.int().nonnegative(),
  /** Model id of the reference policy (base + ref adapter): keys the reference log-probs. */
  referenceModel: z.string().min(1),
  /** sha256 of everything that decides the weights; a checkpoint of another configuration is never resumed. */
  configHash: z.string().min(1),
  totalSteps: z.int().positive(),
  /** The project's on-disk image-feature cache (features keyed by image content, model id and preprocessing). */
  featureCacheDir: z.string().min(1).optional(),
});
export type TrainJobParams = z.output<typeof TrainJobParams>;

export const TrainCursor = z.object({ step: z.int().nonnegative() });
export type TrainCursor = z.infer<typeof TrainCursor>;

export const ReferenceCursor = z.object({ after: z.int().min(-1), done: z.int().nonnegative() });
export type ReferenceCursor = z.infer<typeof ReferenceCursor>;

/** What the jobs need of the engine's trainer (DpoTrainer; the tests' fake trainer too). */
export type TrainEngine = Pick<
  DpoTrainer,
  'imageFeatures' | 'referenceLogprobs' | 'step' | 'exportState' | 'importState' | 'close'
>;
/** `aspect`: how images are fitted to the vision tower before their features are taken (pad, as the reference trained). */
export type OpenTrainer = (
  o: DpoTrainerOptions,
  images: { aspect: 'crop' | 'pad'; featureCacheDir?: string },
) => Promise<TrainEngine>;

/** Pairs scored per reference unit: one batch of 2 x this many rows. */
export const REFERENCE_UNIT = 4;
/** Checkpoint folders kept besides the newest (older ones are pruned). */
export const CHECKPOINTS_KEPT = 3;
/** Bytes of projected image features kept in memory per run (evicted pairs come back from the on-disk cache). */
const FEATURE_CACHE_BYTES = 512 * 2 ** 20;

export const adapterSettings = (p: TrainJobParams): AnyAdapterSettings => ({
  r: p.loraR,
  alpha: p.loraAlpha,
  dropout: p.loraDropout,
  rslora: p.rslora,
  targets: p.loraTargets,
});

async function explicitEp(choice: TrainOptions['ep']): Promise<DpoTrainerOptions['ep']> {
  const lease = acquireRuntime();
  try {
    return (await lease.runtime.choose(choice)).ep;
  } finally {
    await lease.release();
  }
}

const imagesOf = (p: TrainJobParams) => ({
  aspect: p.aspect,
  ...(p.featureCacheDir === undefined ? {} : { featureCacheDir: p.featureCacheDir }),
});

/** The trainer of a run, with the init adapter (when given) as its starting weights. */
async function trainerOptions(p: TrainJobParams): Promise<DpoTrainerOptions> {
  let init: LoraWeights | undefined;
  if (p.initAdapter !== undefined) {
    // llava-hf only: train.start refuses --init-adapter on IXC2.5 folders (openModel names one).
    const model = await openModel(p.model);
    try {
      const s = adapterSettings(p) as AdapterSettings;
      init = (await loadInitAdapter(p.initAdapter, model, s, mulberry32(p.seed))).lora;
    } finally {
      await model.checkpoint.close();
    }
  }
  return {
    modelDir: p.model,
    ep: await explicitEp(p.ep),
    lora: { rank: p.loraR, alpha: p.loraAlpha, rslora: p.rslora, targets: p.loraTargets, dropout: p.loraDropout },
    ...(init ? { init } : {}),
    dpo: { beta: p.beta, loss: p.loss, labelSmoothing: p.labelSmoothing, sftWeight: p.sftWeight },
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: p.weightDecay },
    ...(p.clipNorm > 0 ? { clipNorm: p.clipNorm } : {}),
    seed: p.seed,
    ...baseWeights(p),
  };
}

/** The frozen base's format and checkpointing (train.start resolved `auto` to a format). */
function baseWeights(p: TrainJobParams): Pick<DpoTrainerOptions, 'weights' | 'checkpointing'> {
  const format = p.weights ?? 'fp32';
  if (format === 'auto' || format === 'fp16')
    throw new AppError('internal', `train job ${p.runId}: weight format ${format} was not resolved at start`);
  return {
    ...(format === 'fp32'
      ? {}
      : { weights: { format, block: p.weightBlock ?? 32, cacheDir: defaultWeightCacheDir() } }),
    ...(p.checkpointing ? { checkpointing: true } : {}),
  };
}

/**
 * The engine's DpoTrainer, with image features taken by the family's session (model-session.ts) with the run's
 * preprocessing: llava-hf's LlavaSession with `aspect` (the trainer's own imageFeatures uses the processor's centre
 * crop; the reference trained on padded images), IXC2.5's IxcAppSession with its HD rows (hd_num by image count;
 * `aspect` does not apply), each through the project's feature cache.
 */
const openDpoTrainer: OpenTrainer = async (o, { aspect, featureCacheDir }) => {
  const trainer = await DpoTrainer.create(o);
  let session: Promise<ModelSession> | undefined;
  return {
    imageFeatures: async (images) =>
      (
        await (session ??= openModelSession({
          modelDir: o.modelDir,
          ep: o.ep,
          aspect,
          ...(featureCacheDir === undefined ? {} : { featureCacheDir }),
        }))
      ).features(images),
    referenceLogprobs: (examples, ref) => trainer.referenceLogprobs(examples, ref),
    step: (batch, s) => trainer.step(batch, s),
    exportState: () => trainer.exportState(),
    importState: (s) => trainer.importState(s),
    async close() {
      try {
        await trainer.close();
      } finally {
        if (session) await (await session.catch(() => null))?.close();
      }
    },
  };
};

/** The reference adapter's weights, when the run has one. */
async function referenceLora(p: TrainJobParams): Promise<LoraWeights | undefined> {
  if (p.refAdapter === undefined) return undefined;
  const model = await openModel(p.model);
  try {
    return (await loadInitAdapter(p.refAdapter, model)).lora;
  } finally {
    await model.checkpoint.close();
  }
}

/** A bounded in-memory cache of each pair's projected image features. */
function featureCache(trainer: TrainEngine, examples: readonly TrainExample[]) {
  const cache = new Map<number, Float32Array[]>();
  const size = (f: Float32Array[]) => f.reduce((s, x) => s + x.byteLength, 0);
  let bytes = 0;
  return async (idx: number): Promise<Float32Array[]> => {
    const hit = cache.get(idx);
    if (hit) {
      cache.delete(idx);
      cache.set(idx, hit);
      return hit;
    }
    const f = await trainer.imageFeatures(examples[idx]!.images);
    cache.set(idx, f);
    bytes += size(f);
    for (const [old, v] of cache) {
      if (bytes <= FEATURE_CACHE_BYTES || old === idx) break;
      cache.delete(old);
      bytes -= size(v);
    }
    return f;
  };
}

async function loadExamples(p: TrainJobParams, ctx: JobContext<TrainQueries>): Promise<TrainExample[]> {
  const examples = await ctx.store.call('trainExamples', { datasetId: p.datasetId });
  if (examples.length === 0)
    throw new AppError('not-found', `training dataset ${p.datasetId} holds no pairs`, { subject: 'train_datasets' });
  return examples;
}

/** The reference log-prob job kind; `open` is how a run gets its trainer (tests pass a fake). */
export function createTrainReferenceJob(
  open: OpenTrainer = openDpoTrainer,
): JobKind<TrainJobParams, ReferenceCursor, TrainQueries> {
  return {
    kind: 'train-reference',
    params: TrainJobParams,
    cursor: ReferenceCursor,
    label: (p) => `reference log-probs of ${p.referenceModel} for training run ${p.runId}`,
    async plan(p, ctx): Promise<JobRun<ReferenceCursor, TrainQueries>> {
      const examples = await loadExamples(p, ctx);
      const known = await ctx.store.call('datasetReference', { datasetId: p.datasetId, model: p.referenceModel });
      const pending = known.flatMap((r, i) => (r === null ? [i] : []));
      ctx.log(
        'info',
        `reference log-probs under ${p.referenceModel}: ${pending.length} of ${examples.length} pair(s) to score`,
      );
      // Opened by the first unit that has pairs to score: a reference job with nothing left costs no model load.
      let engine: Promise<{
        trainer: TrainEngine;
        ref: LoraWeights | undefined;
        features: (idx: number) => Promise<Float32Array[]>;
      }> | null = null;
      const opened = () =>
        (engine ??= (async () => {
          const ref = await referenceLora(p);
          const trainer = await open(await trainerOptions(p), imagesOf(p));
          return { trainer, ref, features: featureCache(trainer, examples) };
        })());
      return {
        async runUnit(cursor) {
          const after = cursor?.after ?? -1;
          const doneBefore = cursor?.done ?? 0;
          const next = pending.filter((i) => i > after).slice(0, REFERENCE_UNIT);
          const left = pending.filter((i) => i > after).length;
          if (next.length === 0)
            return {
              cursor: { after, done: doneBefore },
              done: doneBefore,
              total: doneBefore,
              write: null,
              finished: true,
            };
          const { trainer, ref, features } = await opened();
          const batch = [];
          for (const i of next) {
            const e = examples[i]!;
            batch.push({
              promptIds: e.promptIds,
              chosenIds: e.chosenIds,
              rejectedIds: e.rejectedIds,
              features: await features(i),
            });
          }
          const lp = await trainer.referenceLogprobs(batch, ref);
          const rows = next.map((i, k) => {
            const chosen = lp.chosen[k]!;
            const rejected = lp.rejected[k]!;
            if (!Number.isFinite(chosen) || !Number.isFinite(rejected))
              throw new AppError(
                'runtime',
                `${examples[i]!.key}: the reference log-prob is not finite (${chosen}, ${rejected})`,
                {
                  subject: examples[i]!.key,
                },
              );
            return { pairKey: examples[i]!.key, tokenHash: examples[i]!.tokenHash, chosen, rejected };
          });
          const done = doneBefore + next.length;
          return {
            cursor: { after: next[next.length - 1]!, done },
            done,
            total: doneBefore + left,
            write: { method: 'insertReference', args: { model: p.referenceModel, jobId: ctx.jobId, rows } },
            finished: left === next.length,
          };
        },
        finish: async () => null,
        close: async () => {
          // An engine that failed to open has nothing to release (its error already failed the unit).
          await (await engine?.catch(() => null))?.trainer.close();
        },
      };
    },
    // Stored log-probs are complete results: a cancelled job keeps them.
    discard: () => null,
  };
}

/** Example positions of optimizer step `step`: an endless stream of epochs, each a seeded permutation (or file order). */
export function stepPositions(
  p: Pick<TrainOptions, 'batch' | 'gradAccum' | 'shuffle' | 'seed'>,
  pairs: number,
  step: number,
): { micro: number[][]; epoch: number } {
  const perStep = p.batch * p.gradAccum;
  const orders = new Map<number, number[]>();
  const order = (epoch: number): number[] => {
    let o = orders.get(epoch);
    if (o === undefined) {
      o = Array.from({ length: pairs }, (_, i) => i);
      if (p.shuffle) {
        const rng = mulberry32(hashSeed(`train:${p.seed}:epoch:${epoch}`));
        for (let i = pairs - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          [o[i], o[j]] = [o[j]!, o[i]!];
        }
      }
      orders.set(epoch, o);
    }
    return o;
  };
  const micro: number[][] = [];
  for (let m = 0; m < p.gradAccum; m++) {
    const batch: number[] = [];
    for (let b = 0; b < p.batch; b++) {
      const pos = step * perStep + m * p.batch + b;
      batch.push(order(Math.floor(pos / pairs))[pos % pairs]!);
    }
    micro.push(batch);
  }
  return { micro, epoch: ((step + 1) * perStep) / pairs };
}

/** Optimizer steps of a run: --steps, or enough for --epochs (default 1) passes over the pairs. */
export function totalSteps(p: Pick<TrainOptions, 'steps' | 'epochs' | 'batch' | 'gradAccum'>, pairs: number): number {
  return p.steps ?? Math.max(1, Math.ceil(((p.epochs ?? 1) * pairs) / (p.batch * p.gradAccum)));
}

/** The run's learning-rate schedule (engine/train/schedule.ts); --warmup-steps, 0 included, wins over the ratio. */
export function runSchedule(
  p: Pick<TrainOptions, 'schedule' | 'lr' | 'warmupSteps' | 'warmupRatio'> & { totalSteps: number },
): { warmupSteps: number; at(step: number): number } {
  return learningRateSchedule({
    kind: p.schedule,
    lr: p.lr,
    totalSteps: p.totalSteps,
    ...(p.warmupSteps === undefined ? { warmupRatio: p.warmupRatio } : { warmupSteps: p.warmupSteps, warmupRatio: 0 }),
  });
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

function stateTensors(s: DpoTrainerState): Map<string, { dims: number[]; data: Float32Array }> {
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [name, { m, v }] of [...s.moments].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out.set(`${name}.exp_avg`, { dims: [m.length], data: m });
    out.set(`${name}.exp_avg_sq`, { dims: [v.length], data: v });
  }
  return out;
}

function momentsOf(tensors: Map<string, { data: Float32Array }>, dir: string): DpoTrainerState['moments'] {
  const moments: DpoTrainerState['moments'] = new Map();
  for (const [key, t] of tensors) {
    if (!key.endsWith('.exp_avg')) continue;
    const name = key.slice(0, -'.exp_avg'.length);
    const v = tensors.get(`${name}.exp_avg_sq`);
    if (v === undefined)
      throw new AppError('bad-file', `${dir}: the optimizer state has ${key} without ${name}.exp_avg_sq`, {
        subject: dir,
      });
    moments.set(name, { m: t.data, v: v.data });
  }
  return moments;
}

/** The train job kind; `open` is how a run gets its trainer (tests pass a fake). */
export function createTrainJob(open: OpenTrainer = openDpoTrainer): JobKind<TrainJobParams, TrainCursor, TrainQueries> {
  return {
    kind: 'train',
    params: TrainJobParams,
    cursor: TrainCursor,
    label: (p) => `train ${p.model} -> ${p.out} (${p.totalSteps} steps, ${p.loss} beta ${p.beta}, lr ${p.lr})`,
    async plan(p, ctx): Promise<JobRun<TrainCursor, TrainQueries>> {
      const examples = await loadExamples(p, ctx);
      const reference = await ctx.store.call('datasetReference', { datasetId: p.datasetId, model: p.referenceModel });
      const missing = reference.filter((r) => r === null).length;
      if (missing > 0)
        throw new AppError(
          'conflict',
          `${missing} of ${examples.length} pair(s) have no reference log-probs under ${p.referenceModel}: the train-reference job of run ${p.runId} has not finished (start training again to compute them)`,
          { subject: `run ${p.runId}` },
        );
      const refs = reference as { chosen: number; rejected: number }[];
      const settings = adapterSettings(p);
      const options = await trainerOptions(p);
      const checkpoint = await latestCheckpoint(p.out, p.model, {
        onSkip: (s) => ctx.log('warn', `checkpoint ${s.dir} skipped: ${s.reason}`),
      });
      if (checkpoint !== null && checkpoint.state.configHash !== p.configHash)
        throw new AppError(
          'conflict',
          `${p.out} holds checkpoints of another training run (other pairs, model or options): choose another --out, or remove ${checkpoint.dir}`,
          { subject: p.out },
        );
      const trainer = await open(options, imagesOf(p));
      let step = 0;
      let lastCheckpoint: string | null = null;
      try {
        if (checkpoint !== null) {
          await trainer.importState({
            lora: checkpoint.lora,
            moments: momentsOf(checkpoint.tensors, checkpoint.dir),
            step: checkpoint.step,
          });
          step = checkpoint.step;
          lastCheckpoint = checkpoint.dir;
          // A checkpoint written just before a crash may not have reached the database.
          await ctx.store.call('recordCheckpoint', {
            runId: p.runId,
            checkpoint: { step: checkpoint.step, dir: checkpoint.dir, files: checkpoint.manifest.files },
          });
          ctx.log('info', `training run ${p.runId} resumes at step ${step} of ${p.totalSteps} from ${checkpoint.dir}`);
        } else ctx.log('info', `training run ${p.runId}: ${p.totalSteps} steps over ${examples.length} pair(s)`);
      } catch (e) {
        await trainer.close();
        throw e;
      }
      const schedule = runSchedule(p);
      const features = featureCache(trainer, examples);
      let lastLoss: number | null = null;

      const checkpointAt = async (at: number): Promise<CheckpointRecord> => {
        const state = await trainer.exportState();
        const manifest = await writeCheckpoint(p.out, {
          step: at,
          adapter: { baseDir: p.model, lora: state.lora, settings },
          tensors: stateTensors(state),
          state: {
            configHash: p.configHash,
            runId: p.runId,
            optimizerStep: state.step,
            totalSteps: p.totalSteps,
            seed: p.seed,
          },
        });
        await pruneCheckpoints(p.out, CHECKPOINTS_KEPT);
        lastCheckpoint = manifest.dir;
        return { step: at, dir: manifest.dir, files: manifest.files };
      };

      return {
        async runUnit() {
          if (step >= p.totalSteps)
            return { cursor: { step }, done: step, total: p.totalSteps, write: null, finished: true };
          const started = performance.now();
          const lr = schedule.at(step);
          const { micro, epoch } = stepPositions(p, examples.length, step);
          const parts = [];
          const refChosen: number[] = [];
          const refRejected: number[] = [];
          for (const [m, idxs] of micro.entries()) {
            const batch: DpoExample[] = [];
            for (const i of idxs) {
              const e = examples[i]!;
              refChosen.push(refs[i]!.chosen);
              refRejected.push(refs[i]!.rejected);
              batch.push({
                promptIds: e.promptIds,
                chosenIds: e.chosenIds,
                rejectedIds: e.rejectedIds,
                features: await features(i),
                refChosen: refs[i]!.chosen,
                refRejected: refs[i]!.rejected,
              });
            }
            parts.push(await trainer.step(batch, { lr, apply: m === micro.length - 1, stepIndex: step }));
          }
          const at = step + 1;
          const loss = mean(parts.map((x) => x.loss));
          const gradNorm = parts[parts.length - 1]!.gradNorm;
          if (!Number.isFinite(loss) || !Number.isFinite(gradNorm))
            throw new AppError(
              'runtime',
              `step ${at}: the loss is ${loss} and the gradient norm ${gradNorm}: training stopped (lower --lr or check the pairs); ` +
                (lastCheckpoint === null
                  ? 'no checkpoint was written yet'
                  : `the last good checkpoint is ${lastCheckpoint}`),
              { subject: `run ${p.runId}` },
            );
          const tokens = parts.reduce((s, x) => s + x.tokens, 0);
          const ms = performance.now() - started;
          const metrics: TrainStepMetrics = {
            step: at,
            epoch,
            loss,
            rewards_chosen: mean(parts.map((x) => x.rewardsChosen)),
            rewards_rejected: mean(parts.map((x) => x.rewardsRejected)),
            margin: mean(parts.map((x) => x.margin)),
            accuracy: mean(parts.map((x) => x.accuracy)),
            logps_chosen: mean(parts.map((x) => x.logpChosen)),
            logps_rejected: mean(parts.map((x) => x.logpRejected)),
            ref_logps_chosen: mean(refChosen),
            ref_logps_rejected: mean(refRejected),
            lr,
            grad_norm: gradNorm,
            tokens,
            tokens_per_sec: ms > 0 ? (tokens * 1000) / ms : 0,
            step_ms: ms,
            peak_rss: process.resourceUsage().maxRSS * 1024,
          };
          if (metrics.logps_chosen < metrics.ref_logps_chosen - p.collapseNats)
            ctx.log(
              'warn',
              `step ${at}: the chosen answers' log-prob (${metrics.logps_chosen.toFixed(2)}) fell ${(metrics.ref_logps_chosen - metrics.logps_chosen).toFixed(2)} nats below the reference's: the policy may be collapsing (lower --lr or raise --beta / --sft-weight)`,
            );
          step = at;
          lastLoss = loss;
          const checkpoint = at % p.checkpointEvery === 0 || at === p.totalSteps ? await checkpointAt(at) : null;
          ctx.emit({ type: 'train.step', jobId: ctx.jobId, runId: p.runId, metrics });
          return {
            cursor: { step: at },
            done: at,
            total: p.totalSteps,
            write: { method: 'commitTrainStep', args: { runId: p.runId, jobId: ctx.jobId, metrics, checkpoint } },
            finished: at === p.totalSteps,
          };
        },
        async finish() {
          const state = await trainer.exportState();
          await exportPeftAdapter(p.out, { baseDir: p.model, lora: state.lora, settings });
          ctx.log('info', `training run ${p.runId} done: adapter written to ${p.out}`);
          return {
            method: 'finishTrainRun',
            args: { runId: p.runId, result: { runId: p.runId, steps: step, out: p.out, loss: lastLoss } },
          };
        },
        close: () => trainer.close(),
      };
    },
    // Metrics and checkpoints of a cancelled or failed run stay: a rerun continues from them.
    discard: () => null,
  };
}

export const trainReferenceJob = createTrainReferenceJob();
export const trainJob = createTrainJob();
