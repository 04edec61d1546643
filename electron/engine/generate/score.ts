// Scoring: per-token log-probs of given responses after one prompt with
// images, all responses in one batch (chosen and rejected of a pair share the
// prompt). Used for DPO reference log-probs and post-selection.
import { AppError } from '../../../shared/errors';
import { imageRowCounts } from './generate';
import { causalBias, expandPromptRows } from './prompt';
import { wire } from '../runtime/protocol';
import { valuesOf, type DecoderRunner } from './runner';

export interface ScoreResult {
  inputIds: number[];
  /** Per response: log p(token | prompt, previous response tokens). */
  tokenLogprobs: number[][];
  sumLogprobs: number[];
}

export async function scoreResponses(
  runner: DecoderRunner,
  promptIds: readonly number[],
  features: readonly Float32Array[],
  responses: readonly (readonly number[])[],
): Promise<ScoreResult> {
  const d = runner.text.dims.hiddenSize;
  if (responses.length === 0) throw new AppError('bad-input', 'no response to score', { subject: 'response' });
  responses.forEach((r, i) => {
    if (r.length === 0)
      throw new AppError('bad-input', `response ${i + 1} is empty: nothing to score`, { subject: `response ${i + 1}` });
  });
  const p = expandPromptRows(promptIds, runner.text.imageTokenId, imageRowCounts(runner, features));
  const prompt = p.ids.length;
  const t = prompt + Math.max(...responses.map((r) => r.length));
  if (t > runner.text.maxContext) {
    throw new AppError(
      'bad-input',
      `prompt (${prompt} tokens, images expanded) plus response is ${t} tokens: more than the model's context of ${runner.text.maxContext}`,
      { subject: 'prompt' },
    );
  }
  const b = responses.length;
  // Right padding: causal attention keeps pads from influencing the real tokens before them.
  const ids = new Int32Array(b * t);
  const targets = new Int32Array(b * t);
  const featureIndex = new Int32Array(b * t).fill(-1);
  responses.forEach((r, i) => {
    const seq = [...p.ids, ...r];
    ids.set(seq, i * t);
    targets.set(seq.slice(1), i * t);
    featureIndex.set(p.featureIndex, i * t);
  });
  const bias = new Float32Array(b * t * t);
  const one = causalBias(t, 0);
  for (let i = 0; i < b; i++) bias.set(one, i * t * t);
  const stacked = new Float32Array(
    Math.max(
      d,
      features.reduce((a, f) => a + f.length, 0),
    ),
  );
  let at = 0;
  for (const f of features) {
    stacked.set(f, at);
    at += f.length;
  }
  const out = await runner.score(b, {
    input_ids: wire('int32', ids, [b, t]),
    // A pad repeats its row's last position, so each row's length (last position + 1) is its own, as when
    // scored alone: dynamic NTK (IXC2.5) picks the rotary base from it. Pads' outputs are never read.
    ...runner.rope(responses.map((r) => Array.from({ length: t }, (_, i) => Math.min(i, prompt + r.length - 1)))),
    attention_bias: wire('float32', bias, [b, t, t]),
    image_features: wire('float32', stacked, [stacked.length / d, d]),
    feature_index: wire('int32', featureIndex, [b, t]),
    targets: wire('int32', targets, [b, t]),
  });
  const lp = valuesOf(out, 'token_logprobs');
  const tokenLogprobs = responses.map((r, i) => r.map((_, j) => lp[i * t + prompt - 1 + j]!));
  return { inputIds: p.ids, tokenLogprobs, sumLogprobs: tokenLogprobs.map((xs) => xs.reduce((s, v) => s + v, 0)) };
}
