// Per-generation numbers that selection needs, computed ONCE when a generation
// is stored (edit distance is the only costly one), so that re-selection after
// a threshold change only compares numbers (decide.ts).
import type { Format } from '../../../shared/pipeline/formats';
import type { GenerationMetrics } from '../../../shared/pipeline/types';
import { charEditDistance, codePoints, tokenEditDistance } from './edit-distance';

/**
 * The reference's perplexity: exp(-mean(log max_softmax)) over generated
 * tokens, from each token's maximum probability. NaN for no tokens.
 */
export function perplexityFromMaxProb(maxProbs: ArrayLike<number>): number {
  if (maxProbs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < maxProbs.length; i++) s += Math.log(maxProbs[i] as number);
  return Math.exp(-s / maxProbs.length);
}

/** Textbook perplexity of the emitted tokens: exp(-mean(log p(token))). NaN for no tokens. */
export function perplexityFromLogProbs(logProbs: ArrayLike<number>): number {
  if (logProbs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < logProbs.length; i++) s += logProbs[i] as number;
  return Math.exp(-s / logProbs.length);
}

export interface GenerationInput {
  id: string;
  format: Format;
  imageCount: number;
  targetIndex: number;
  groundTruth: string;
  response: string;
  attentionRatio: number;
  exactRatio?: number | null;
  perImageMean?: number[] | null;
  /** Per generated token: max softmax probability, and log-probability of the emitted token. */
  maxProbs: ArrayLike<number>;
  logProbs: ArrayLike<number>;
  responseTokens?: ArrayLike<number> | null;
  groundTruthTokens?: ArrayLike<number> | null;
}

/** Lengths and distances in Unicode characters; length ratio = rejected / chosen. */
export function computeMetrics(g: GenerationInput): GenerationMetrics {
  const gtChars = codePoints(g.groundTruth).length;
  const respChars = codePoints(g.response).length;
  const tokens =
    g.responseTokens && g.groundTruthTokens ? tokenEditDistance(g.responseTokens, g.groundTruthTokens) : null;
  return {
    id: g.id,
    format: g.format,
    imageCount: g.imageCount,
    targetIndex: g.targetIndex,
    attentionRatio: g.attentionRatio,
    exactRatio: g.exactRatio ?? null,
    perImageMean: g.perImageMean ?? null,
    pplMaxProb: perplexityFromMaxProb(g.maxProbs),
    pplTrue: perplexityFromLogProbs(g.logProbs),
    groundTruthChars: gtChars,
    responseChars: respChars,
    responseBlank: g.response.trim().length === 0,
    groundTruthBlank: g.groundTruth.trim().length === 0,
    identical: g.response.trim() === g.groundTruth.trim(),
    lengthRatio: respChars / gtChars,
    editDistanceChars: charEditDistance(g.response, g.groundTruth),
    editDistanceTokens: tokens,
  };
}
