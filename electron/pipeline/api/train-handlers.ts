// The training API (shared/pipeline/train.ts), spread into the service's
// handler table. `train.start` reads and checks the pairs (a pairs file, or the
// open project's kept pairs), stores the tokenized snapshot, finds or creates
// the run of this output folder and configuration, and queues the reference
// log-prob job (when some pair lacks them) and the train job, or returns the
// unfinished jobs of the same run (a rerun after a crash joins them).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ApiHandlers } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import {
  FAMILY_LORA_TARGETS,
  LORA_DEFAULTS,
  type TRAIN_COMMANDS,
  type TrainCheckpoint,
  type TrainOptions,
} from '../../../shared/pipeline/train';
import { Checkpoint } from '../../engine/models/checkpoint';
import { checkFamilyTargets, modelFamilyOf, openAdapterBase } from '../../engine/models/adapter-base';
import type { ModelFamily } from '../../engine/models/arch';
import { loraModules, type LoraTarget } from '../../engine/models/lora';
import { availableMemory } from '../../engine/generate/memory-plan';
import { chooseTrainWeights } from '../../engine/generate/weights-choice';
import type { WeightBlock } from '../../../shared/weights';
import { checkMergeTarget } from '../../engine/models/merge';
import { copyPeftAdapter, readInitAdapterSettings } from '../../engine/models/peft-export';
import { loadLlavaConfig } from '../../engine/models/config';
import { llavaSpec } from '../../engine/models/llava';
import { expandImageTokens } from '../../engine/text/image-tokens';
import { IMAGE_INDEX_MARKER } from '../../engine/text/ixc-prompt';
import { loadIxcConfig } from '../../engine/models/config-ixc';
import { ixcHdNum, ixcVisionSpec } from '../../engine/models/ixc-vision';
import { hdTokenCount } from '../../engine/vision/hd-layout';
import { hdGeometry } from '../../engine/vision/hd-transform';
import { decodeImage } from '../../engine/vision/decode-image';
import { modelId } from '../../engine/generate/model-id';
import type { JobQueries } from '../../jobs/queries';
import type { JobRunner } from '../../jobs/runner';
import type { Store } from '../../store/store';
import type { MergeJobParams } from '../jobs/merge-job';
import { totalSteps, type TrainJobParams } from '../jobs/train-job';
import { datasetHash, projectPairs, readPairsFile, tokenizePairs } from '../train/data';
import type { TrainQueries } from '../train/queries';
import type { PipelineQueries } from '../store/queries';

type TrainHandlers = Pick<ApiHandlers, keyof typeof TRAIN_COMMANDS>;
type RunAdapterRequest = Parameters<ApiHandlers['train.export']>[0];

export interface TrainProject {
  dir: string;
  store: Store<TrainQueries & Pick<PipelineQueries, 'pairsForExport'>>;
  runner: Pick<JobRunner<JobQueries>, 'submit' | 'unfinished'>;
  /** Bytes a run may use (default: MemAvailable plus this process's RSS); tests pass a small one. */
  memoryBudget?: () => number;
}

/**
 * The adapter folder an export or merge of `request` reads, with the run's base model: a checkpoint's folder (it
 * must still be on disk: older ones are pruned) or the finished run's output folder.
 */
async function runAdapter(
  p: TrainProject,
  request: RunAdapterRequest,
): Promise<{ modelDir: string; adapterDir: string; expected?: TrainCheckpoint['files'] }> {
  const run = await p.store.call('trainRun', { id: request.runId });
  if (run === null)
    throw new AppError('not-found', `there is no training run ${request.runId} in this project`, {
      subject: `run ${request.runId}`,
    });
  const modelDir = (run.options as { model?: unknown }).model;
  if (typeof modelDir !== 'string')
    throw new AppError('bad-file', `training run ${run.id} does not name its model`, { subject: `run ${run.id}` });
  if (!existsSync(modelDir))
    throw new AppError('not-found', `the base model ${modelDir} of training run ${run.id} no longer exists`, {
      subject: modelDir,
    });
  if (request.checkpointStep === undefined) {
    if (run.state !== 'done')
      throw new AppError(
        'conflict',
        `training run ${run.id} has no adapter yet: it is at step ${run.step} of ${run.totalSteps}; let it finish, or choose one of its checkpoints`,
        { subject: `run ${run.id}` },
      );
    return { modelDir, adapterDir: run.out };
  }
  const checkpoint = (await p.store.call('trainCheckpoints', { runId: run.id })).find(
    (c) => c.step === request.checkpointStep,
  );
  if (checkpoint === undefined)
    throw new AppError('not-found', `training run ${run.id} has no checkpoint at step ${request.checkpointStep}`, {
      subject: `run ${run.id}`,
    });
  if (!existsSync(checkpoint.dir))
    throw new AppError(
      'not-found',
      `the checkpoint of step ${checkpoint.step} (${checkpoint.dir}) is no longer on disk: older checkpoints are removed as training goes on`,
      { subject: checkpoint.dir },
    );
  return { modelDir, adapterDir: checkpoint.dir, expected: checkpoint.files };
}

/** Queues the merge of a run's adapter (or a checkpoint's) into `out`, or joins the unfinished merge of the same request. */
export async function startMerge(p: TrainProject, request: RunAdapterRequest): Promise<{ jobId: number }> {
  if (p.store.readOnly)
    throw new AppError('conflict', `${p.dir} is open read-only (damaged database): a merge cannot be recorded`, {
      subject: p.dir,
    });
  const out = path.resolve(request.out);
  const { modelDir, adapterDir } = await runAdapter(p, request);
  // A second click (or a rerun) joins the merge under way into the same folder; another merge there is refused.
  const existing = await p.runner.unfinished('model-merge', (q) => (q as Partial<MergeJobParams>).out === out);
  if (existing !== null) {
    const same = await p.runner.unfinished('model-merge', (q) => {
      const m = q as Partial<MergeJobParams>;
      return m.out === out && m.adapterDir === path.resolve(adapterDir) && m.runId === request.runId;
    });
    if (same === null)
      throw new AppError('conflict', `${out}: another merge into this folder is under way (job ${existing.id})`, {
        subject: out,
      });
    return { jobId: same.id };
  }
  await checkMergeTarget(modelDir, out);
  const params: MergeJobParams = {
    runId: request.runId,
    ...(request.checkpointStep === undefined ? {} : { checkpointStep: request.checkpointStep }),
    modelDir: path.resolve(modelDir),
    adapterDir: path.resolve(adapterDir),
    out,
  };
  return { jobId: (await p.runner.submit('model-merge', params)).id };
}

/** Copies a run's adapter (or a checkpoint's) as a verified PEFT folder to `out` (bounded by the adapter's size: no job). */
export async function exportAdapter(
  p: TrainProject,
  request: RunAdapterRequest,
): Promise<{ out: string; files: TrainCheckpoint['files'] }> {
  const { modelDir, adapterDir, expected } = await runAdapter(p, request);
  const copied = await copyPeftAdapter(adapterDir, request.out, {
    baseDir: modelDir,
    ...(expected === undefined ? {} : { expected }),
  });
  return { out: copied.dir, files: copied.files };
}

/** Options that do not change the trained weights: a rerun with other values continues the same run. */
const NOT_IN_CONFIG = [
  'ep',
  'checkpointing',
  'checkpointEvery',
  'collapseNats',
  'out',
  'pairs',
  'model',
  'initAdapter',
  'refAdapter',
] as const;

function existing(dir: string | undefined, what: string): string | undefined {
  if (dir === undefined) return undefined;
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new AppError('not-found', `${what} ${abs} does not exist`, { subject: dir });
  return abs;
}

/** The id of `modelDir` (+ adapter, in a weight format) as generations and the feature cache key it (engine/generate/model-id.ts). */
export async function trainModelId(
  modelDir: string,
  adapterDir?: string,
  weights: { format: 'fp32' | 'int8' | 'int4'; block: WeightBlock } = { format: 'fp32', block: 32 },
): Promise<string> {
  const base = await openAdapterBase(modelDir);
  try {
    return await modelId({
      modelDir,
      weightFiles: base.weightFiles(),
      ...(adapterDir ? { adapterDir } : {}),
      ...weights,
    });
  } finally {
    await base.close();
  }
}

/**
 * What an InternLM-XComposer-2.5 run cannot take yet, refused by name before anything is queued: reading an IXC
 * adapter back (--init-adapter, --ref-adapter) and quantized bases (memory planning and int8/int4 training are
 * llava-hf's; `auto` is fp32).
 */
function refuseOnIxc(request: TrainOptions, model: string): void {
  const refuse = (what: string) =>
    new AppError('unsupported', `${model}: ${what} is not supported for InternLM-XComposer-2.5 training yet`, {
      subject: model,
    });
  if (request.initAdapter !== undefined) throw refuse('starting from an adapter (--init-adapter)');
  if (request.refAdapter !== undefined) throw refuse('a reference adapter (--ref-adapter)');
  if (request.weights === 'int8' || request.weights === 'int4')
    throw refuse(`the ${request.weights} weight format (--weights; IXC2.5 trains on fp32 weights)`);
}

/**
 * The run's weight format, checked against the machine's memory before anything is queued (issue 15 item 3): the
 * plan of the largest micro-batch (the `batch` longest pairs) is refused with its numbers and the settings that fit.
 */
async function trainWeights(
  request: TrainOptions,
  model: string,
  examples: readonly { images: string[]; promptIds: number[]; chosenIds: number[]; rejectedIds: number[] }[],
  lora: Pick<TrainJobParams, 'loraR' | 'loraTargets'>,
  budget: number,
): Promise<'fp32' | 'int8' | 'int4'> {
  const checkpoint = await Checkpoint.open(model);
  try {
    const spec = llavaSpec(checkpoint.config);
    const round = (n: number): number => Math.ceil(n / 32) * 32;
    const lengths = examples
      .map((e) => ({
        seq:
          e.promptIds.length +
          e.images.length * (spec.tokensPerImage - 1) +
          Math.max(e.chosenIds.length, e.rejectedIds.length),
        answer: Math.max(e.chosenIds.length, e.rejectedIds.length),
      }))
      .sort((a, b) => b.seq - a.seq);
    const batch = Math.max(1, Math.min(request.batch, lengths.length));
    const decision = chooseTrainWeights({
      spec,
      tensors: checkpoint
        .names()
        .map((name) => ({ name, shape: checkpoint.get(name).shape, dtype: checkpoint.get(name).dtype })),
      choice: request.weights ?? 'fp32',
      block: request.weightBlock ?? 32,
      pairs: batch,
      seq: round(lengths[0]?.seq ?? 1),
      answer: round(Math.max(1, ...lengths.map((l) => l.answer))),
      loraParams: loraModules(spec.text, lora.loraTargets).reduce(
        (n, m) => n + lora.loraR * (m.inFeatures + m.outFeatures),
        0,
      ),
      rank: lora.loraR,
      dropout: request.loraDropout > 0,
      checkpointing: request.checkpointing ?? false,
      vision: true,
      budget,
      model,
    });
    return decision.format;
  } finally {
    await checkpoint.close();
  }
}

/**
 * The run's LoRA shape: the options given, the rest from the init adapter (a
 * given value that disagrees with it is refused here, before anything is
 * queued) or LORA_DEFAULTS for a fresh adapter.
 */
async function loraShape(
  request: TrainOptions,
  model: string,
  family: ModelFamily,
  initAdapter: string | undefined,
): Promise<Pick<TrainJobParams, 'loraR' | 'loraAlpha' | 'rslora' | 'loraTargets'>> {
  if (initAdapter === undefined) {
    return {
      loraR: request.loraR ?? LORA_DEFAULTS.loraR,
      loraAlpha: request.loraAlpha ?? LORA_DEFAULTS.loraAlpha,
      rslora: request.rslora ?? LORA_DEFAULTS.rslora,
      loraTargets: request.loraTargets ?? [...FAMILY_LORA_TARGETS[family]],
    };
  }
  const s = await readInitAdapterSettings(initAdapter, model, {
    ...(request.loraR === undefined ? {} : { r: request.loraR }),
    ...(request.loraAlpha === undefined ? {} : { alpha: request.loraAlpha }),
    ...(request.rslora === undefined ? {} : { rslora: request.rslora }),
    ...(request.loraTargets === undefined ? {} : { targets: request.loraTargets as LoraTarget[] }),
  });
  return { loraR: s.r, loraAlpha: s.alpha, rslora: s.rslora, loraTargets: [...s.targets] };
}

/** Resolves, checks and queues a training run; the job ids to wait for. */
export async function startTraining(
  p: TrainProject,
  request: TrainOptions,
): Promise<{ jobId: number; referenceJobId: number | null; runId: number }> {
  if (p.store.readOnly)
    throw new AppError('conflict', `${p.dir} is open read-only (damaged database): training cannot be recorded`, {
      subject: p.dir,
    });
  if (request.steps !== undefined && request.epochs !== undefined)
    throw new AppError('bad-input', 'give either steps or epochs, not both', { subject: 'steps' });
  const model = existing(request.model, 'model folder')!;
  const initAdapter = existing(request.initAdapter, 'adapter folder');
  const refAdapter = existing(request.refAdapter, 'reference adapter folder');
  const pairsFile = existing(request.pairs, 'pairs file');
  const out = path.resolve(request.out);
  const family = await modelFamilyOf(model);
  if (family === 'ixc') refuseOnIxc(request, model);
  // Target names are the family's (llava-hf q_proj...; IXC2.5 wqkv...): another family's are refused naming the valid ones.
  if (request.loraTargets !== undefined) checkFamilyTargets(model, family, request.loraTargets);
  const sources = pairsFile ? await readPairsFile(pairsFile) : projectPairs(await p.store.call('pairsForExport'));
  const examples = await tokenizePairs(model, sources, { raw: request.raw, aspect: request.aspect });
  const hash = datasetHash(examples);
  const datasetId = await p.store.call('saveTrainDataset', {
    hash,
    source: pairsFile ?? 'project',
    examples,
  });
  const lora = await loraShape(request, model, family, initAdapter);
  const budget = p.memoryBudget?.() ?? availableMemory() + process.memoryUsage.rss();
  const format = family === 'ixc' ? 'fp32' : await trainWeights(request, model, examples, lora, budget);
  // fp32 leaves the request (and so the configuration hash of runs from before formats existed) as it was.
  const weights = format === 'fp32' ? {} : { weights: format, weightBlock: request.weightBlock ?? (32 as WeightBlock) };
  const { weights: _choice, weightBlock: _block, ...rest } = request;
  const resolved: TrainOptions = { ...rest, ...weights };
  const base = { format, block: request.weightBlock ?? (32 as WeightBlock) };
  const referenceModel = await trainModelId(model, refAdapter, base);
  const policyModel = await trainModelId(model, initAdapter, base);
  const total = totalSteps(request, examples.length);
  const weighed = Object.fromEntries(
    Object.entries({ ...resolved, ...lora }).filter(([k]) => !(NOT_IN_CONFIG as readonly string[]).includes(k)),
  );
  const configHash = createHash('sha256')
    .update(JSON.stringify({ weighed, total, dataset: hash, referenceModel, policyModel }))
    .digest('hex');
  const params: TrainJobParams = {
    ...resolved,
    ...lora,
    model,
    out,
    ...(initAdapter ? { initAdapter } : {}),
    ...(refAdapter ? { refAdapter } : {}),
    ...(pairsFile ? { pairs: pairsFile } : {}),
    runId: 0,
    datasetId,
    referenceModel,
    configHash,
    totalSteps: total,
    featureCacheDir: path.join(p.dir, 'cache', 'features'),
  };
  const runId = await p.store.call('upsertTrainRun', {
    out,
    configHash,
    datasetId,
    model: policyModel,
    options: params,
    totalSteps: total,
  });
  params.runId = runId;
  const ofRun = (q: unknown) => (q as { runId?: unknown }).runId === runId;
  const unfinished = await p.runner.unfinished('train', ofRun);
  const unfinishedReference = await p.runner.unfinished('train-reference', ofRun);
  if (unfinished !== null) return { jobId: unfinished.id, referenceJobId: unfinishedReference?.id ?? null, runId };
  const missing = (await p.store.call('datasetReference', { datasetId, model: referenceModel })).some(
    (r) => r === null,
  );
  const reference = unfinishedReference ?? (missing ? await p.runner.submit('train-reference', params) : null);
  const job = await p.runner.submit('train', params);
  return { jobId: job.id, referenceJobId: reference?.id ?? null, runId };
}

const mapAsync = async <T, U>(xs: readonly T[], f: (x: T) => Promise<U>): Promise<U[]> => {
  const out: U[] = [];
  for (const x of xs) out.push(await f(x));
  return out;
};

/**
 * A stored pair's prompt ids as `generate --json` reports input_ids: llava-hf's image token expanded to the image's
 * feature tokens; IXC2.5's -200 marker repeated for every row of the image's HD layout (its crop grid from its size
 * and hd_num by the pair's image count, as IxcAppSession embeds it).
 */
async function promptIdsExpander(
  model: string,
): Promise<(ids: number[], images: readonly string[]) => Promise<number[]>> {
  if ((await modelFamilyOf(model)) === 'ixc') {
    const spec = ixcVisionSpec(await loadIxcConfig(model));
    return async (ids, images) => {
      const hdNum = ixcHdNum(spec, images.length);
      const rows: number[] = [];
      for (const image of images) {
        const size = await decodeImage(image); // EXIF orientation applied, as the encoder sees it
        const g = hdGeometry(size.width, size.height, hdNum, { cropSize: spec.cropSize });
        rows.push(hdTokenCount({ rows: g.rows, cols: g.cols }, spec.side));
      }
      let k = 0;
      return ids.flatMap((t) => (t === IMAGE_INDEX_MARKER ? new Array<number>(rows[k++]!).fill(t) : [t]));
    };
  }
  const spec = llavaSpec(await loadLlavaConfig(model));
  return async (ids, images) =>
    expandImageTokens(ids, spec.imageTokenId, new Array<number>(images.length).fill(spec.tokensPerImage)).ids;
}

export function trainHandlers(project: () => TrainProject): TrainHandlers {
  const runOf = async (p: TrainProject, runId: number) => {
    const run = await p.store.call('trainRun', { id: runId });
    if (run === null)
      throw new AppError('not-found', `there is no training run ${runId} in this project`, { subject: `run ${runId}` });
    return run;
  };
  return {
    'train.start': (request) => startTraining(project(), request),
    'train.export': (request) => exportAdapter(project(), request),
    'train.merge': (request) => startMerge(project(), request),
    'train.runs': async () => ({
      runs: (await project().store.call('trainRuns')).map(
        ({ configHash: _h, datasetId: _d, result: _r, ...run }) => run,
      ),
    }),
    'train.metrics': async ({ runId, after }) => {
      const p = project();
      await runOf(p, runId);
      return { steps: await p.store.call('trainMetrics', { runId, after }) };
    },
    'train.checkpoints': async ({ runId }) => {
      const p = project();
      await runOf(p, runId);
      return { checkpoints: await p.store.call('trainCheckpoints', { runId }) };
    },
    'train.pairs': async ({ runId, offset, limit }) => {
      const p = project();
      const run = await runOf(p, runId);
      const examples = await p.store.call('trainExamples', { datasetId: run.datasetId });
      const model = (run.options as { model?: unknown }).model;
      if (typeof model !== 'string')
        throw new AppError('bad-file', `training run ${runId} does not name its model`, { subject: `run ${runId}` });
      const expanded = await promptIdsExpander(model);
      return {
        total: examples.length,
        items: await mapAsync(examples.slice(offset, offset + limit), async (e) => ({
          key: e.key,
          images: e.images,
          prompt_ids: await expanded(e.promptIds, e.images),
          chosen_ids: e.chosenIds,
          rejected_ids: e.rejectedIds,
        })),
      };
    },
  };
}
