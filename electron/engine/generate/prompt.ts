// Host-side preparation of a multimodal prompt for the prefill graph: the
// expanded ids and spans (text/image-tokens.ts), the index that tells the
// graph which image-feature row goes where, and the causal attention bias.
import type { ImageSpan } from '../text/image-tokens';
import { expandImageTokens } from '../text/image-tokens';

export interface ExpandedPrompt {
  /** Token ids with every image's placeholder repeated once per feature token. */
  ids: number[];
  spans: ImageSpan[];
  /** Per position: the row of the stacked image features [all images' rows, D] to use (-1 for text). */
  featureIndex: Int32Array;
}

/** text/image-tokens.ts's expansion (both processor conventions, clear count errors) plus the feature index. */
export function expandPrompt(
  ids: readonly number[],
  imageTokenId: number,
  images: number,
  tokensPerImage: number,
): ExpandedPrompt {
  return expandPromptRows(ids, imageTokenId, new Array<number>(images).fill(tokensPerImage));
}

/** As expandPrompt, with each image's own row count (IXC2.5's HD layouts differ per image); rows stacked in image order. */
export function expandPromptRows(
  ids: readonly number[],
  imageTokenId: number,
  rows: readonly number[],
): ExpandedPrompt {
  const e = expandImageTokens(ids, imageTokenId, rows);
  const featureIndex = new Int32Array(e.ids.length).fill(-1);
  let base = 0;
  e.spans.forEach((s) => {
    for (let i = s.start; i < s.end; i++) featureIndex[i] = base + i - s.start;
    base += s.end - s.start;
  });
  return { ids: e.ids, spans: e.spans, featureIndex };
}

/** Additive attention bias [queries, past + queries]: query q sits at position past + q and sees keys up to it (-1e30 rather than -inf: exp gives exactly 0 either way, and no EP meets inf - inf). */
export function causalBias(queries: number, past: number): Float32Array {
  const keys = past + queries;
  const out = new Float32Array(queries * keys);
  for (let q = 0; q < queries; q++) out.fill(-1e30, q * keys + past + q + 1, (q + 1) * keys);
  return out;
}
