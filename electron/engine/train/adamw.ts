// AdamW as graph nodes (PyTorch's torch.optim.AdamW semantics): decoupled
// weight decay, bias-corrected moments, learning rate and step count as graph
// inputs so one compiled train-step graph serves every step of a schedule.
import type { Value } from '../onnx/graph';
import * as op from '../onnx/ops';

export interface AdamWConfig {
  /** First-moment decay (PyTorch default). */
  beta1: number;
  /** Second-moment decay (PyTorch default). */
  beta2: number;
  /** Added to sqrt(v_hat); 1e-8 as in PyTorch, representable in float32. */
  eps: number;
  /** Decoupled decay: p <- p - lr * wd * p before the Adam update. */
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** Per-step scalars shared by every parameter's update. */
export interface AdamWStep {
  /** lr / (1 - beta1^t) */
  stepSize: Value;
  /** sqrt(1 - beta2^t) */
  sqrtBc2: Value;
  lr: Value;
}

/** Bias corrections from the 1-based step count `step` (float32 scalar input). */
export function adamwStep(step: Value, lr: Value, cfg: AdamWConfig): AdamWStep {
  const g = step.graph;
  const bc1 = op.sub(1, op.pow(g.constant(cfg.beta1, 'float32', []), step));
  const bc2 = op.sub(1, op.pow(g.constant(cfg.beta2, 'float32', []), step));
  return { stepSize: op.div(lr, bc1), sqrtBc2: op.sqrt(bc2), lr };
}

/** One parameter's update; returns the new parameter and moments. */
export function adamwUpdate(
  p: Value,
  grad: Value,
  m: Value,
  v: Value,
  s: AdamWStep,
  cfg: AdamWConfig,
  decay: boolean,
): { p: Value; m: Value; v: Value } {
  const m2 = op.add(op.mul(m, cfg.beta1), op.mul(grad, 1 - cfg.beta1));
  const v2 = op.add(op.mul(v, cfg.beta2), op.mul(op.mul(grad, grad), 1 - cfg.beta2));
  const decayed = decay && cfg.weightDecay !== 0 ? op.mul(p, op.sub(1, op.mul(s.lr, cfg.weightDecay))) : p;
  const denom = op.add(op.div(op.sqrt(v2), s.sqrtBc2), cfg.eps);
  const p2 = op.sub(decayed, op.mul(s.stepSize, op.div(m2, denom)));
  return { p: p2, m: m2, v: v2 };
}
