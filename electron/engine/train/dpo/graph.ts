// The DPO graphs on a production decoder with unmerged LoRA (DpoDecoder:
// llavaTextForward, or IXC2.5's ixcTextForward with PLoRA frozen at image rows):
// the loss as TRL's DPOTrainer.dpo_loss defines it, the train step (gradients
// added into accumulators, then clip + AdamW on their mean, one session.run)
// and the forward-only log-prob graph for the reference.
import { logSigmoid } from '../../autodiff/composites';
import { gradients } from '../../autodiff/backward';
import type { Recompute } from '../../autodiff/recompute';
import { Graph, type Node, type Value } from '../../onnx/graph';
import * as op from '../../onnx/ops';
import { decoderGraphInputs, type DecoderDims, type DecoderInputs, type LayerRecord } from '../../models/decoder';
import { ixcTextForward, ixcTokenLogprobs, type IxcSpec } from '../../models/ixc';
import { llavaTextForward, tokenLogprobs, type LlavaSpec } from '../../models/llava';
import { loraBranch, type LoraWeights } from '../../models/lora';
import type { LinearHooks } from '../../models/nn';
import { externalParams, type Params, type WeightSource } from '../../models/params';
import { appendOptimizer, type OptimizerSpec, type ParamIO } from '../train-step';
import { seededDropout } from './dropout';
import type { DpoConfig } from './config';

/** Where the frozen base's weights come from: the checkpoint (fp32 compute) or e.g. quantizedParams (int8/int4). */
export type BaseParams = (g: Graph) => Params;

/**
 * The nodes among a layer's that compute only from initializers and shapes: its weights (dequantization of
 * int8/int4 codes, casts of fp16 tensors), which the backward recomputes instead of keeping (QLoRA).
 */
export function weightNodes(nodes: readonly Node[]): Node[] {
  const derived = new Set<Value>();
  const out: Node[] = [];
  for (const n of nodes) {
    const fromWeights = n.inputs.every((v) => !v || v.kind === 'initializer' || derived.has(v));
    if (n.opType !== 'Shape' && !fromWeights) continue;
    out.push(n);
    for (const o of n.outputs) derived.add(o);
  }
  return out;
}

/**
 * What the backward recomputes per decoder layer: with `checkpointing` the whole layer from its input (only
 * layer inputs are kept from the forward: activation memory of one layer plus the checkpoints); else only the
 * layer's weight nodes (dequantized weights exist for one layer at a time, in the forward and in the backward).
 */
export function layerRecompute(
  layers: readonly { output: Value; nodes: readonly Node[] }[],
  checkpointing: boolean,
): Recompute[] {
  return layers.flatMap((l) => {
    if (checkpointing) return [{ nodes: l.nodes, after: l.output }];
    const w = weightNodes(l.nodes);
    return w.length ? [{ nodes: w, within: l.nodes, after: l.output }] : [];
  });
}

/** The decoder a DPO graph differentiates: its sizes, its forward to the final norm, and log p(target). */
export interface DpoDecoder {
  dims: DecoderDims;
  /** Hidden states after the final norm, and each layer's record (recomputed by the backward). */
  forward(p: Params, x: DecoderInputs, hooks: LinearHooks | undefined): { hidden: Value; layers: LayerRecord[] };
  tokenLogprobs(p: Params, hidden: Value, targets: Value): Value;
}

export function llavaDpoDecoder(spec: LlavaSpec): DpoDecoder {
  return {
    dims: spec.text,
    forward: (p, x, hooks) => llavaTextForward(p, spec, x, hooks ? { hooks } : {}),
    tokenLogprobs: (p, h, t) => tokenLogprobs(p, spec, h, t),
  };
}

/**
 * IXC2.5's decoder: the fine-tuning LoRA on IXC_LORA_TARGETS (wqkv, wo, w1, w2, w3) beside the frozen weights and
 * the frozen PLoRA, which acts at image rows (feature_index >= 0) as in the official fine-tuning. Rotary tables are
 * fed per row (ixcRotaryTables: dynamic NTK's base from each row's length).
 */
export function ixcDpoDecoder(spec: IxcSpec): DpoDecoder {
  return {
    dims: spec,
    forward: (p, x, hooks) => ixcTextForward(p, spec, x, hooks ? { hooks } : {}),
    tokenLogprobs: (p, h, t) => ixcTokenLogprobs(p, spec, h, t),
  };
}

/**
 * Per-row summed response log-probs [2P] and response lengths [2P] of the packed batch (batch.ts). Logits
 * are taken only at the `answer_index` positions [2P, A] (those whose next token is an answer token): the
 * vocabulary-sized tensors, the largest of the step, scale with the answers, not with prompt and images.
 */
function responseLogps(
  g: Graph,
  decoder: DpoDecoder,
  source: WeightSource,
  rows: number,
  seq: number | 'seq',
  answer: number | 'answer',
  lora?: { weights: Pick<LoraWeights, 'rank' | 'scale' | 'modules'>; dropout: number },
  base?: BaseParams,
): { sums: Value; lens: Value; params: Value[]; dropoutSeed?: Value; layers: LayerRecord[] } {
  const p = base ? base(g) : externalParams(g, source);
  const inputs = decoderGraphInputs(g, decoder.dims, rows, 'prefill', seq);
  const drop = lora && lora.dropout > 0 ? seededDropout(g, lora.dropout) : undefined;
  const branch = lora ? loraBranch(g, lora.weights, drop ? { dropout: drop.dropout } : {}) : undefined;
  const out = decoder.forward(p, inputs, branch);
  const at = op.unsqueeze(g.input('answer_index', 'int32', [rows, answer]), [2]); // [2P, A, 1]
  const hidden = op.gatherElements(out.hidden, op.expand(at, [1, 1, decoder.dims.hiddenSize]), 1); // [2P, A, D]
  const logp = decoder.tokenLogprobs(p, hidden, g.input('targets', 'int32', [rows, answer])); // [2P, A]
  const mask = g.input('response_mask', 'float32', [rows, answer]);
  return {
    sums: op.reduceSum(op.mul(logp, mask), [1], false),
    lens: op.reduceSum(mask, [1], false),
    params: branch?.params ?? [],
    ...(drop ? { dropoutSeed: drop.seed } : {}),
    layers: out.layers,
  };
}

export interface DpoLossValues {
  /** Mean over pairs. */
  loss: Value;
  metrics: Record<string, Value>;
}

export const DPO_METRICS = [
  'rewards_chosen',
  'rewards_rejected',
  'margin',
  'accuracy',
  'logp_chosen',
  'logp_rejected',
] as const;

/**
 * TRL's DPOTrainer.dpo_loss on per-row sums [2P] (chosen rows first) and the reference sums [2P]:
 * logits = (pi_c - pi_r) - (ref_c - ref_r);
 * sigmoid: -logsig(b l)(1 - e) - logsig(-b l) e; robust: (-logsig(b l)(1 - e) + logsig(-b l) e) / (1 - 2e);
 * hinge: relu(1 - b l); ipo: (l - 1 / (2 b))^2 on length-averaged log-probs (policy and reference).
 * rewards = b (pi - ref) (as the log-probs used). SFT (LLaMA-Factory's pref_ftx): + gamma * mean NLL per chosen token.
 */
export function dpoLoss(sums: Value, lens: Value, ref: Value, pairs: number, c: DpoConfig): DpoLossValues {
  const half = (v: Value, i: 0 | 1): Value => op.slice(v, [i * pairs], [(i + 1) * pairs], [0]);
  const avg = c.loss === 'ipo';
  const pol = avg ? op.div(sums, lens) : sums;
  const rf = avg ? op.div(ref, lens) : ref;
  const [pc, pr, rc, rr] = [half(pol, 0), half(pol, 1), half(rf, 0), half(rf, 1)];
  const logits = op.sub(op.sub(pc, pr), op.sub(rc, rr));
  const bl = op.mul(logits, c.beta);
  const e = c.labelSmoothing;
  let losses: Value;
  switch (c.loss) {
    case 'sigmoid':
      losses = op.sub(op.mul(logSigmoid(bl), -(1 - e)), op.mul(logSigmoid(op.neg(bl)), e));
      break;
    case 'robust':
      losses = op.div(op.add(op.mul(logSigmoid(bl), -(1 - e)), op.mul(logSigmoid(op.neg(bl)), e)), 1 - 2 * e);
      break;
    case 'hinge':
      losses = op.relu(op.sub(1, bl));
      break;
    case 'ipo': {
      const d = op.sub(logits, 1 / (2 * c.beta));
      losses = op.mul(d, d);
      break;
    }
  }
  if (c.sftWeight !== 0) losses = op.add(losses, op.mul(op.div(half(sums, 0), half(lens, 0)), -c.sftWeight));
  const mean = (v: Value): Value => op.reduceMean(v, [0], false);
  const rewC = op.mul(op.sub(pc, rc), c.beta);
  const rewR = op.mul(op.sub(pr, rr), c.beta);
  return {
    loss: mean(losses),
    metrics: {
      rewards_chosen: mean(rewC),
      rewards_rejected: mean(rewR),
      margin: mean(op.sub(rewC, rewR)),
      accuracy: mean(op.cast(op.greater(rewC, rewR), 'float32')),
      logp_chosen: mean(pc),
      logp_rejected: mean(pr),
    },
  };
}

export interface DpoStepIO {
  loss: string;
  metrics: string[];
  gradNorm: string;
  gradScale: string;
  step: string;
  lr: string;
  params: (ParamIO & { acc: string; accOut: string })[];
  dropoutSeed?: string;
}

/** Trainable LoRA inputs exempt from weight decay: norms and biases (LoRA has neither; the rule stays for when it does). */
export const noDecay = (name: string): boolean => /norm|bias/.test(name);

/**
 * The DPO train step for P pairs at static length `seq`: forward (2P rows), loss, gradients; outputs
 * `<P>.grad_acc.new` = acc + grad and, from the mean (acc + grad) * grad_scale, grad_norm and the
 * clipped AdamW update. A micro-step fetches only the sums; an applying step the update.
 */
export function buildDpoStepGraph(
  decoder: DpoDecoder,
  source: WeightSource,
  o: {
    pairs: number;
    seq: number;
    /** Static answer length (answer_index width). */
    answer: number;
    lora: Pick<LoraWeights, 'rank' | 'scale' | 'modules'>;
    dropout: number;
    dpo: DpoConfig;
    optimizer: OptimizerSpec;
    /** Default: the checkpoint's tensors in fp32. */
    base?: BaseParams;
    /** Recompute each decoder layer in the backward from its input (gradient checkpointing). */
    checkpointing?: boolean;
  },
): { graph: Graph; io: DpoStepIO } {
  const g = new Graph('dpo_step');
  const rows = 2 * o.pairs;
  const fw = responseLogps(g, decoder, source, rows, o.seq, o.answer, { weights: o.lora, dropout: o.dropout }, o.base);
  const ref = g.input('ref_logps', 'float32', [rows]);
  const { loss, metrics } = g.withScope('dpo', () => dpoLoss(fw.sums, fw.lens, ref, o.pairs, o.dpo));
  const grads = gradients(loss, fw.params, { recompute: layerRecompute(fw.layers, o.checkpointing ?? false) });
  g.output(loss, 'loss');
  for (const [name, v] of Object.entries(metrics)) g.output(v, name);
  const scale = g.input('grad_scale', 'float32', []);
  const accs = fw.params.map((p, i) =>
    g.withScope('accumulate', () => {
      const acc = g.input(`${p.name}.grad_acc`, p.dtype, p.shape);
      return g.output(op.add(acc, grads[i]!), `${p.name}.grad_acc.new`);
    }),
  );
  const opt = appendOptimizer(
    g,
    fw.params,
    accs.map((a) => op.mul(a, scale)),
    { ...o.optimizer, noDecay },
  );
  return {
    graph: g,
    io: {
      loss: 'loss',
      metrics: Object.keys(metrics),
      gradNorm: opt.gradNorm,
      gradScale: 'grad_scale',
      step: 'step',
      lr: 'lr',
      params: opt.params.map((p) => ({ ...p, acc: `${p.name}.grad_acc`, accOut: `${p.name}.grad_acc.new` })),
      ...(fw.dropoutSeed ? { dropoutSeed: fw.dropoutSeed.name } : {}),
    },
  };
}

/** Forward only: per-row summed response log-probs `logps` [rows] of a packed batch, base model or base + `lora` (unmerged, fed). */
export function buildLogpsGraph(
  decoder: DpoDecoder,
  source: WeightSource,
  rows: number,
  lora?: Pick<LoraWeights, 'rank' | 'scale' | 'modules'>,
  base?: BaseParams,
): Graph {
  const g = new Graph('dpo_logps');
  const fw = responseLogps(
    g,
    decoder,
    source,
    rows,
    'seq',
    'answer',
    lora ? { weights: lora, dropout: 0 } : undefined,
    base,
  );
  g.output(fw.sums, 'logps');
  return g;
}
