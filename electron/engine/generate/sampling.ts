// Next-token choice for generation: greedy, temperature, top-k, top-p and
// repetition penalty in the order Hugging Face's logits processors apply
// them, with a seeded generator so a sampled run can be repeated exactly.
import { AppError } from '../../../shared/errors';
import { mulberry32 } from '../../common/mulberry32';

export interface SamplingOptions {
  /** 0 means greedy (argmax); above 0 the logits are divided by it before sampling. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 disables. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 disables. */
  topP: number;
  /** HF's CTRL-style penalty on every token already in the sequence; 1 disables. */
  repetitionPenalty: number;
  seed: number;
}

export const GREEDY: SamplingOptions = { temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, seed: 0 };

export function checkSampling(o: SamplingOptions): void {
  const bad = (field: string, v: number, want: string): never => {
    throw new AppError('bad-input', `sampling option ${field} = ${v} is invalid: ${want}`, { subject: field });
  };
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature))
    bad('temperature', o.temperature, 'must be a finite number >= 0');
  if (!Number.isInteger(o.topK) || o.topK < 0) bad('topK', o.topK, 'must be an integer >= 0');
  if (!(o.topP > 0 && o.topP <= 1)) bad('topP', o.topP, 'must be in (0, 1]');
  if (!(o.repetitionPenalty > 0) || !Number.isFinite(o.repetitionPenalty))
    bad('repetitionPenalty', o.repetitionPenalty, 'must be a finite number > 0');
}

/** A seeded generator, so sampling is reproducible from a seed. */
export const createRng: (seed: number) => () => number = mulberry32;

export interface TokenChoice {
  token: number;
  /** log p(token) under the model's own distribution (raw logits, before any processing). */
  logprob: number;
  /** max over the vocabulary of p under the same distribution (MIA-DPO's max-softmax perplexity). */
  maxProb: number;
}

/** log-softmax statistics of raw logits: the log of the partition function and the max logit. */
function logPartition(logits: Float32Array): { max: number; logZ: number } {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let s = 0;
  for (const v of logits) s += Math.exp(v - max);
  return { max, logZ: max + Math.log(s) };
}

function argmax(x: Float32Array | Float64Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

function processed(logits: Float32Array, history: readonly number[], o: SamplingOptions): Float64Array {
  const x = Float64Array.from(logits);
  if (o.repetitionPenalty !== 1) {
    for (const t of new Set(history)) x[t] = x[t]! < 0 ? x[t]! * o.repetitionPenalty : x[t]! / o.repetitionPenalty;
  }
  return x;
}

/** Samples from processed logits: temperature, then top-k, then top-p (HF's warper order). */
function sample(x: Float64Array, o: SamplingOptions, rng: () => number): number {
  const order = Array.from(x.keys()).sort((a, b) => x[b]! - x[a]!);
  const keep = o.topK > 0 ? order.slice(0, o.topK) : order;
  const top = x[keep[0]!]!;
  const w = keep.map((t) => Math.exp((x[t]! - top) / o.temperature));
  const total = w.reduce((p, v) => p + v, 0);
  let n = keep.length;
  if (o.topP < 1) {
    let cum = 0;
    n = 0;
    while (n < keep.length && cum < o.topP * total) cum += w[n++]!;
  }
  const mass = w.slice(0, n).reduce((p, v) => p + v, 0);
  let r = rng() * mass;
  for (let i = 0; i < n; i++) {
    r -= w[i]!;
    if (r < 0) return keep[i]!;
  }
  return keep[n - 1]!;
}

/** Picks the next token from one row of logits; `history` is every token of the sequence so far. */
export function pickToken(
  logits: Float32Array,
  history: readonly number[],
  o: SamplingOptions,
  rng: () => number,
): TokenChoice {
  const x = processed(logits, history, o);
  const token = o.temperature === 0 ? argmax(x) : sample(x, o, rng);
  const { max, logZ } = logPartition(logits);
  return { token, logprob: logits[token]! - logZ, maxProb: Math.exp(max - logZ) };
}
