// What the respond job needs from the model engine (issue #4, step 3), defined
// here so the pipeline and the engine can be built apart. The engine
// implements `ResponseEngine`; the pipeline never fakes its results.
// Maps are one per image given, each `patchSide x patchSide`, averaged over
// heads at `layer` and over the generated tokens' query rows (not the prefill).

import type { Preprocessing } from '../attention/exact-region';

export interface ResponseRequest {
  /** The prompt text with one `<image>` placeholder per image, in order. */
  prompt: string;
  /** Raw RGB images (already perturbed when perturbation is on), in placeholder order. */
  images: { data: Uint8Array; width: number; height: number; channels: 3 }[];
  /** Decoder layer whose attention is read (16 of 32 for LLaVA-v1.5-7B). */
  layer: number;
  maxNewTokens: number;
  /** 0 = greedy (the reference default). */
  temperature: number;
  seed: number;
  signal?: AbortSignal;
}

export interface ResponseResult {
  text: string;
  /** Generated token ids, without the prompt and without the end token. */
  tokens: number[];
  /** Per generated token: the largest softmax probability (the reference perplexity). */
  maxProbs: Float32Array;
  /** Per generated token: log-probability of the token emitted (true perplexity). */
  logProbs: Float32Array;
  /**
   * Per image, same order as `images`: the mean attention the sequence format compares, over its patch tokens
   * (LLaVA: the map's mean) or its whole span (IXC2.5: global view, crops and separators).
   */
  perImageMean: number[];
  /** Per image: row-major `patchSide x patchSide` attention map. */
  attentionMaps: Float32Array[];
  patchSide: number;
  /** How the maps' grid lies on the image (for exact-region ratios): crop / pad of a square input, or IXC2.5's global view. */
  preprocessing: Preprocessing;
  /** Per image, the part of its square map its pixels fill from the top-left (IXC2.5's global view); absent: all of it. */
  mapCoverage?: { x: number; y: number }[];
  /** Wall time of prefill and decode, for the job's timing record. */
  timing: { prefillMs: number; decodeMs: number };
}

export interface ResponseEngine {
  /** Model id recorded with each generation (e.g. the model folder and its config hash). */
  readonly modelId: string;
  generate(request: ResponseRequest): Promise<ResponseResult>;
}
