// The full-parameter SFT step on the production LLaVA graph: pixels through
// the vision tower and projector (llava.ts imageFeatures), the features merged
// into the decoder's embeddings (llavaTextForward), log-probs only at the
// answer positions (as the DPO graph gathers `answer_index`, so the
// vocabulary-sized tensors scale with the answers), the mean NLL per answer
// token; every weight a trainable graph input (params.ts inputParams), then
// gradients, clipping and AdamW in the same graph (train-step.ts).
import { Graph, type Value } from '../../onnx/graph';
import * as op from '../../onnx/ops';
import { imageFeatures, llavaTextForward, textGraphInputs, tokenLogprobs, type LlavaSpec } from '../../models/llava';
import { inputParams } from '../../models/params';
import { buildTrainStep, type OptimizerSpec, type TrainStepIO } from '../train-step';
import type { SftShape } from './batch';

/**
 * Parameters exempt from weight decay in full fine-tuning: norms, biases and embeddings (token,
 * position and class embeddings), as transformers' Trainer and nanoGPT exempt them.
 */
export const sftNoDecay = (name: string): boolean =>
  /norm|bias|embed_tokens|position_embedding|class_embedding/.test(name);

/**
 * The SFT train-step graph of static `shape`: loss = -sum(log p(answer) * mask) / sum(mask), gradients
 * to every weight the forward reads (shapes by canonical name; unread ones, e.g. CLIP's post_layernorm,
 * are not inputs), clipping and AdamW. `io.params` lists the trainable weights in order of use.
 */
export function buildSftStepGraph(
  spec: LlavaSpec,
  shapes: ReadonlyMap<string, readonly number[]>,
  shape: SftShape,
  optimizer: OptimizerSpec,
): { graph: Graph; io: TrainStepIO } {
  const g = new Graph('sft_step');
  const p = inputParams(g, shapes);
  const s = spec.vision.imageSize;
  const pixels = g.input('pixel_values', 'float32', [shape.images, 3, s, s]);
  const rowsOfFeatures = shape.images * spec.tokensPerImage;
  const features = op.reshape(imageFeatures(p, spec, pixels), [rowsOfFeatures, spec.text.hiddenSize]); // [N*F, D]
  const inputs = textGraphInputs(g, spec, shape.rows, 'prefill', shape.seq, features);
  const out = llavaTextForward(p, spec, inputs);
  const at = op.unsqueeze(g.input('answer_index', 'int32', [shape.rows, shape.answer]), [2]); // [B, A, 1]
  const hidden = op.gatherElements(out.hidden, op.expand(at, [1, 1, spec.text.hiddenSize]), 1); // [B, A, D]
  const logp = tokenLogprobs(p, spec, hidden, g.input('targets', 'int32', [shape.rows, shape.answer])); // [B, A]
  const mask = g.input('answer_mask', 'float32', [shape.rows, shape.answer]);
  const all = (v: Value): Value => op.reduceSum(v, [0, 1], false);
  const tokens = op.max(all(mask), 1);
  const loss = g.withScope('sft', () => op.div(op.neg(all(op.mul(logp, mask))), tokens));
  const io = buildTrainStep({ loss, params: p.inputs, ...optimizer, noDecay: optimizer.noDecay ?? sftNoDecay });
  return { graph: g, io };
}
