// Host-side preparation of a multimodal prompt: image placeholders expanded
// to one token per image feature (or checked when a processor already did),
// each image's token span, and the index that tells the prefill graph which
// feature row goes where. Count mismatches fail here with a clear message.
import { AppError } from '../../../shared/errors';
import type { ImageSpan } from './attention';

export interface ExpandedPrompt {
  /** Token ids with every image's placeholders repeated tokensPerImage times. */
  ids: number[];
  spans: ImageSpan[];
  /** Per position: the row of the stacked image features [images * tokensPerImage, D] to use (0 for text). */
  featureIndex: Int32Array;
}

/**
 * Accepts both conventions of llava-hf processors: one `<image>` token per image
 * (the model expands it) or already one per feature token.
 */
export function expandImageTokens(ids: readonly number[], imageTokenId: number, images: number, tokensPerImage: number): ExpandedPrompt {
  const placeholders = ids.filter((t) => t === imageTokenId).length;
  let expanded: number[];
  if (placeholders === images) {
    expanded = ids.flatMap((t) => (t === imageTokenId ? new Array<number>(tokensPerImage).fill(t) : [t]));
  } else if (placeholders === images * tokensPerImage && tokensPerImage > 1) {
    expanded = [...ids];
  } else {
    const many = placeholders > images ? 'more' : 'fewer';
    throw new AppError('bad-input', `the prompt has ${placeholders} <image> placeholder${placeholders === 1 ? '' : 's'} but ${images} image${images === 1 ? ' was' : 's were'} given (${many} placeholders than images)`, { subject: 'prompt' });
  }
  const featureIndex = new Int32Array(expanded.length);
  const spans: ImageSpan[] = [];
  let row = 0;
  expanded.forEach((t, i) => {
    if (t !== imageTokenId) return;
    if (row % tokensPerImage === 0) spans.push({ image: row / tokensPerImage, start: i, length: tokensPerImage });
    featureIndex[i] = row++;
  });
  for (const s of spans) {
    if (expanded.slice(s.start, s.start + s.length).some((t) => t !== imageTokenId)) {
      throw new AppError('bad-input', `image ${s.image + 1}'s ${tokensPerImage} feature tokens are not contiguous in the prompt`, { subject: 'prompt' });
    }
  }
  return { ids: expanded, spans, featureIndex };
}

/** Additive attention bias [queries, past + queries]: query q sits at position past + q and sees keys up to it (-1e30 rather than -inf: exp gives exactly 0 either way, and no EP meets inf - inf). */
export function causalBias(queries: number, past: number): Float32Array {
  const keys = past + queries;
  const out = new Float32Array(queries * keys);
  for (let q = 0; q < queries; q++) out.fill(-1e30, q * keys + past + q + 1, (q + 1) * keys);
  return out;
}
