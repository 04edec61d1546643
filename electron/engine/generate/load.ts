// One call from a model folder (and optionally a PEFT adapter folder) to a
// ready LlavaRunner: the checkpoint opened and checked, the weight format
// chosen (and int8/int4 weights quantized into, or read from, the weight
// cache), the adapter matched against it and wired in unmerged or merged.
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import type { WeightBlock, WeightsChoice } from '../../../shared/weights';
import type { ExplicitEp } from '../runtime/local';
import { CPU_FP16 } from '../runtime/ep';
import { acquireRuntime, type EngineRuntime } from '../runtime/runtime';
import { loraFromPeft, mergedLora, unmergedLora } from '../models/lora';
import { openModel } from '../models/open';
import { externalParams } from '../models/params';
import { PeftAdapter } from '../models/peft';
import { quantizedParams, quantizedWeights } from '../models/quantized';
import { availableMemory } from './memory-plan';
import { LlavaRunner, type RunnerOptions } from './runner';
import { chooseWeights, type WeightsDecision } from './weights-choice';

export interface WeightOptions {
  choice: WeightsChoice;
  block?: WeightBlock;
  /** Where int8/int4 weights are cached (default: defaultWeightCacheDir()). */
  cacheDir?: string;
  /** Sequence length the memory check plans for (default: the context, at most 2048). */
  planSeq?: number;
  /** Bytes the process may use in all (default: free memory plus what the process holds now). */
  budget?: number;
}

export interface LoadOptions {
  ep: ExplicitEp;
  /** The session host; default the process's shared one. */
  runtime?: EngineRuntime;
  captureLayers?: readonly number[];
  adapter?: { dir: string; merge?: boolean };
  disablePrepacking?: boolean;
  /**
   * CPU: onnxruntime's arena allocator (RunnerOptions.cpuMemArena). Default: off when `weights` is given (a planned
   * run), else onnxruntime's default (on). The KV cache grows a position per step, so the arena's freed cache never
   * fits the next step's and it kept about one cache more per step (docs/benchmarks.md, 7B-shaped generate).
   */
  cpuMemArena?: boolean;
  /** The weight format (default fp32 with no memory check, as before formats existed). */
  weights?: WeightOptions;
}

/** `$MIA_DPO_CACHE/weights`, else the user's cache folder (XDG_CACHE_HOME or ~/.cache) under mia-dpo/weights. */
export function defaultWeightCacheDir(): string {
  const root =
    process.env.MIA_DPO_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mia-dpo');
  return path.join(root, 'weights');
}

export async function loadRunner(modelDir: string, o: LoadOptions): Promise<LlavaRunner> {
  const model = await openModel(modelDir);
  const options: RunnerOptions = { ep: o.ep };
  // Asking a GPU EP whether it computes in fp16 starts the session host: a lease keeps it for the runner.
  const lease = !o.runtime && o.weights && o.ep !== 'cpu' ? acquireRuntime() : undefined;
  const runtime = o.runtime ?? lease?.runtime;
  if (runtime) options.runtime = runtime;
  if (o.captureLayers) options.captureLayers = o.captureLayers;
  if (o.disablePrepacking) options.disablePrepacking = true;
  const arena = o.cpuMemArena ?? (o.weights ? false : undefined);
  if (arena !== undefined) options.cpuMemArena = arena;
  try {
    const decision = o.weights
      ? decideWeights(model, o.ep, o.weights, await fp16Unsupported(o.ep, runtime))
      : undefined;
    if (decision) options.weights = decision;
    const quantized =
      decision && (decision.format === 'int8' || decision.format === 'int4')
        ? await quantizedWeights(
            model.checkpoint,
            { bits: decision.format === 'int8' ? 8 : 4, block: decision.block },
            o.weights?.cacheDir ?? defaultWeightCacheDir(),
          )
        : undefined;
    if (o.adapter) {
      if (quantized && o.adapter.merge)
        throw new AppError(
          'unsupported',
          `--merge-adapter with --weights ${decision!.format}: a merged adapter needs float weights; run the adapter unmerged`,
          { subject: 'merge-adapter' },
        );
      const adapter = await PeftAdapter.load(o.adapter.dir, model.checkpoint);
      const weights = await loraFromPeft(adapter).finally(() => adapter.close());
      options.textGraph = o.adapter.merge
        ? {
            params: mergedLora(weights, (g) =>
              externalParams(g, model.checkpoint, decision?.format === 'fp16' ? 'float16' : 'float32'),
            ),
          }
        : unmergedLora(weights);
    }
    if (quantized)
      options.textGraph = {
        ...options.textGraph,
        params: (g) => quantizedParams(g, quantized, o.ep),
        weightsDir: quantized.dir,
        quantized: true,
      };
    const runner = new LlavaRunner(model, options);
    // The runner shares the host through `options.runtime`; this function's lease hands it over.
    if (lease) runner.adoptLease(lease);
    return runner;
  } catch (e) {
    await lease?.release();
    await model.checkpoint.close();
    throw e;
  }
}

/** Why `ep` does not compute in fp16 (the session host's probe for GPUs), or null when it does. */
async function fp16Unsupported(ep: ExplicitEp, runtime: EngineRuntime | undefined): Promise<string | null> {
  if (ep === 'cpu' || !runtime) return CPU_FP16;
  const state = (await runtime.detect())[ep];
  return state.fp16 ? null : (state.fp16Reason ?? state.reason ?? 'not reported');
}

function decideWeights(
  model: Awaited<ReturnType<typeof openModel>>,
  ep: ExplicitEp,
  w: WeightOptions,
  fp16: string | null,
): WeightsDecision {
  const c = model.checkpoint;
  return chooseWeights({
    choice: w.choice,
    block: w.block ?? 32,
    ep,
    spec: model.spec,
    tensors: c.names().map((name) => ({ name, shape: c.get(name).shape, dtype: c.get(name).dtype })),
    seq: w.planSeq ?? Math.min(model.spec.text.maxPositions, 2048),
    budget: w.budget ?? availableMemory() + process.memoryUsage.rss(),
    model: model.dir,
    fp16,
  });
}
