// LoRA on the language model's linear layers (default q, k, v, o, gate, up,
// down; never lm_head or the vision tower, as MIA-DPO trains it): fresh
// adapters initialised as PEFT does, PEFT folders loaded through peft.ts, and
// the two ways into a graph: unmerged (A and B are graph inputs, returned as
// the trainable values autodiff and the train step differentiate to) or merged
// (W + s * B A folded into the weights at session creation).
import ort from 'onnxruntime-node';
import { AppError } from '../../../shared/errors';
import type { Graph, Value } from '../onnx/graph';
import * as op from '../onnx/ops';
import type { TextSpec } from './llava';
import type { LinearHooks } from './nn';
import { staticDim } from './nn';
import type { Params } from './params';
import type { PeftAdapter } from './peft';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraSettings {
  rank: number;
  alpha: number;
  /** rsLoRA: scale alpha / sqrt(r) instead of alpha / r. */
  rslora: boolean;
  targets: readonly LoraTarget[];
}

export interface LoraModuleWeights {
  a: Float32Array; // [r, in]
  b: Float32Array; // [out, r]
  inFeatures: number;
  outFeatures: number;
}

export interface LoraWeights {
  rank: number;
  scale: number;
  /** By canonical module path, e.g. `language_model.model.layers.0.self_attn.q_proj`. */
  modules: Map<string, LoraModuleWeights>;
}

export const loraScaleOf = (s: Pick<LoraSettings, 'rank' | 'alpha' | 'rslora'>): number =>
  s.rslora ? s.alpha / Math.sqrt(s.rank) : s.alpha / s.rank;

/** The LM modules a target list selects, with their [out, in] sizes. */
export function loraModules(
  t: TextSpec,
  targets: readonly string[],
  prefix = 'language_model.model.',
): { module: string; inFeatures: number; outFeatures: number }[] {
  const size: Record<LoraTarget, [string, number, number]> = {
    q_proj: ['self_attn', t.numHeads * t.headDim, t.hiddenSize],
    k_proj: ['self_attn', t.numKvHeads * t.headDim, t.hiddenSize],
    v_proj: ['self_attn', t.numKvHeads * t.headDim, t.hiddenSize],
    o_proj: ['self_attn', t.hiddenSize, t.numHeads * t.headDim],
    gate_proj: ['mlp', t.intermediateSize, t.hiddenSize],
    up_proj: ['mlp', t.intermediateSize, t.hiddenSize],
    down_proj: ['mlp', t.hiddenSize, t.intermediateSize],
  };
  for (const x of targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(x)) {
      throw new AppError(
        'unsupported',
        `LoRA target "${x}" is not supported; supported: ${LORA_TARGETS.join(', ')} (the language model's linear layers)`,
        { subject: 'targets' },
      );
    }
  }
  return Array.from({ length: t.numLayers }, (_, i) =>
    (targets as LoraTarget[]).map((x) => {
      const [block, out, inF] = size[x];
      return { module: `${prefix}layers.${i}.${block}.${x}`, inFeatures: inF, outFeatures: out };
    }),
  ).flat();
}

/** PEFT's initialisation: A ~ kaiming-uniform(a = sqrt 5) = U(-1/sqrt(in), 1/sqrt(in)), B = 0, so training starts at the base model. */
export function initLora(t: TextSpec, s: LoraSettings, rng: () => number): LoraWeights {
  if (!Number.isInteger(s.rank) || s.rank < 1)
    throw new AppError('bad-input', `LoRA rank = ${s.rank} must be an integer >= 1`, { subject: 'rank' });
  const modules = new Map<string, LoraModuleWeights>();
  for (const m of loraModules(t, s.targets)) modules.set(m.module, initLoraModule(m, s.rank, rng));
  return { rank: s.rank, scale: loraScaleOf(s), modules };
}

/** One module's fresh A (kaiming-uniform) and B (zeros), as initLora draws them. */
export function initLoraModule(
  m: { inFeatures: number; outFeatures: number },
  rank: number,
  rng: () => number,
): LoraModuleWeights {
  const bound = 1 / Math.sqrt(m.inFeatures);
  const a = Float32Array.from({ length: rank * m.inFeatures }, () => (2 * rng() - 1) * bound);
  return { a, b: new Float32Array(m.outFeatures * rank), inFeatures: m.inFeatures, outFeatures: m.outFeatures };
}

/**
 * Reads every module of a loaded PEFT adapter into memory; `isLanguageModule` says which modules may be adapted
 * (default llava-hf's decoder layers; adapter-base.ts gives each family's).
 */
export async function loraFromPeft(
  adapter: PeftAdapter,
  isLanguageModule: (module: string) => boolean = (m) => m.startsWith('language_model.model.layers.'),
): Promise<LoraWeights> {
  const modules = new Map<string, LoraModuleWeights>();
  for (const module of adapter.modules.keys()) {
    if (!isLanguageModule(module)) {
      throw new AppError(
        'unsupported',
        `${adapter.dir}: LoRA on ${module} is not supported; only the language model's decoder layers take adapters`,
        { subject: module },
      );
    }
    const { a, b } = await adapter.read(module);
    const r = adapter.config.r;
    modules.set(module, { a, b, inFeatures: a.length / r, outFeatures: b.length / r });
  }
  return { rank: adapter.config.r, scale: adapter.scale, modules };
}

export const loraInputNames = (module: string): { a: string; b: string } => ({
  a: `lora.${module}.A`,
  b: `lora.${module}.B`,
});

/** An unmerged LoRA branch in a graph: the hooks, and the A/B inputs created so far (in the order the forward reached them). */
export interface LoraBranch extends LinearHooks {
  /** Trainable values: `lora.<module>.A` [r, in] and `.B` [out, r] graph inputs, filled as the forward builds each module. */
  readonly params: Value[];
}

/** Options of an unmerged branch: training applies LoRA dropout to the branch's input, as PEFT does (y += s * B A dropout(x)). */
export interface LoraBranchOptions {
  /** x [B*T, in] of module `name` -> the dropped-out input (train/dpo/dropout.ts). */
  dropout?: (x: Value, name: string) => Value;
}

/** The branch y += s * (x A^T) B^T of every adapted module, with A and B as graph inputs of `g` (the modules' sizes from `w`). */
export function loraBranch(
  g: Graph,
  w: Pick<LoraWeights, 'rank' | 'scale' | 'modules'>,
  o: LoraBranchOptions = {},
): LoraBranch {
  const params: Value[] = [];
  return {
    params,
    branch(name: string, x: Value): Value | undefined {
      const m = w.modules.get(name);
      if (!m) return undefined;
      const names = loraInputNames(name);
      const a = g.input(names.a, 'float32', [w.rank, m.inFeatures]);
      const b = g.input(names.b, 'float32', [m.outFeatures, w.rank]);
      params.push(a, b);
      const batch = staticDim(x, 0);
      // The branch computes in the adapter's float32 and returns in x's type (PEFT's casts under an fp16 base).
      const flat = op.cast(op.reshape(x, [-1, m.inFeatures]), 'float32'); // [B*T, in]
      const down = op.gemm(o.dropout ? o.dropout(flat, name) : flat, a, undefined, { transB: true }); // [B*T, r]
      const up = op.cast(op.gemm(down, b, undefined, { transB: true, alpha: w.scale }), x.dtype); // [B*T, out]
      return op.reshape(up, g.constant([batch, -1, m.outFeatures], 'int64', [3]), [batch, x.shape[1]!, m.outFeatures]); // [B, T, out]
    },
  };
}

/** A/B tensors by graph input name, to feed an unmerged graph or initialise training. */
export function loraFeeds(w: LoraWeights): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [module, m] of w.modules) {
    const names = loraInputNames(module);
    out[names.a] = new ort.Tensor('float32', m.a, [w.rank, m.inFeatures]);
    out[names.b] = new ort.Tensor('float32', m.b, [m.outFeatures, w.rank]);
  }
  return out;
}

/** Unmerged: y += s * (x A^T) B^T with A and B as graph inputs fed on every run. */
export function unmergedLora(w: LoraWeights): {
  hooks: (g: Graph) => LinearHooks;
  feeds: () => Record<string, ort.Tensor>;
} {
  return { hooks: (g) => loraBranch(g, w), feeds: () => loraFeeds(w) };
}

/** Merged: the adapted modules' weights read as W + s * B A, A and B inline (onnxruntime folds the sum once). */
export function mergedLora(w: LoraWeights, base: (g: Graph) => Params): (g: Graph) => Params {
  return (g) => {
    const p = base(g);
    const cache = new Map<string, Value>();
    return {
      graph: g,
      has: (name) => p.has(name),
      get(name) {
        const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : '';
        const m = w.modules.get(module);
        if (!m) return p.get(name);
        const hit = cache.get(name);
        if (hit) return hit;
        const a = g.initializer(`${module}.lora_A`, { dtype: 'float32', dims: [w.rank, m.inFeatures], data: m.a });
        const b = g.initializer(`${module}.lora_B`, { dtype: 'float32', dims: [m.outFeatures, w.rank], data: m.b });
        const base = p.get(name);
        const merged = op.add(base, op.cast(op.gemm(b, a, undefined, { alpha: w.scale }), base.dtype));
        cache.set(name, merged);
        return merged;
      },
    };
  };
}
