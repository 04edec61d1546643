// Stored-generation metrics for selection tests: defaults that pass every
// reference check, overridden per case.
import type { GenerationMetrics } from '../../../shared/pipeline/types';

export function metrics(over: Partial<GenerationMetrics> = {}): GenerationMetrics {
  return {
    id: 'g',
    format: 'sequence',
    imageCount: 2,
    targetIndex: 1,
    attentionRatio: 0.5,
    exactRatio: 0.5,
    perImageMean: null,
    pplMaxProb: 1.5,
    pplTrue: 2,
    groundTruthChars: 40,
    responseChars: 30,
    responseBlank: false,
    groundTruthBlank: false,
    identical: false,
    lengthRatio: 0.75,
    editDistanceChars: 20,
    editDistanceTokens: 6,
    ...over,
  };
}
