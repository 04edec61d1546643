// Expands image placeholders in input ids to one position per image feature token
// and reports where each image's tokens sit in the merged sequence (what the LLaVA
// merge and MIA-DPO's attention-aware selection need).

import { AppError } from '../../../shared/errors';

export interface ImageSpan {
  /** First position of the image's tokens in the merged sequence. */
  start: number;
  /** One past the last position. */
  end: number;
}

export interface ExpandedIds {
  ids: number[];
  /** One span per image, in prompt order; `end - start` is that image's feature-token count. */
  spans: ImageSpan[];
}

/**
 * `ids` hold either one image token per image (older processors: each is repeated
 * `featureTokens[i]` times here) or, already, `featureTokens[i]` consecutive image
 * tokens per image (newer processors: kept as they are).
 */
export function expandImageTokens(
  ids: readonly number[],
  imageTokenId: number,
  featureTokens: readonly number[],
): ExpandedIds {
  for (const [i, n] of featureTokens.entries()) {
    if (!Number.isInteger(n) || n < 1)
      throw new AppError('bad-input', `image ${i + 1}: feature-token count ${n} is not a positive integer`);
  }
  let imageTokens = 0;
  for (const id of ids) if (id === imageTokenId) imageTokens++;
  const expandedTotal = featureTokens.reduce((a, b) => a + b, 0);
  if (imageTokens === featureTokens.length) return expandSingles(ids, imageTokenId, featureTokens);
  if (imageTokens === expandedTotal) return keepExpanded(ids, imageTokenId, featureTokens);
  const placeholders = countPlaceholders(ids, imageTokenId, featureTokens);
  const which = placeholders > featureTokens.length ? 'more' : 'fewer';
  throw new AppError(
    'bad-input',
    `the prompt has ${placeholders} image placeholder${placeholders === 1 ? '' : 's'} but ${featureTokens.length} ` +
      `image${featureTokens.length === 1 ? ' was' : 's were'} given (${which} placeholders than images)`,
  );
}

function expandSingles(ids: readonly number[], imageTokenId: number, featureTokens: readonly number[]): ExpandedIds {
  const out: number[] = [];
  const spans: ImageSpan[] = [];
  for (const id of ids) {
    if (id !== imageTokenId) {
      out.push(id);
      continue;
    }
    const n = featureTokens[spans.length] as number;
    spans.push({ start: out.length, end: out.length + n });
    for (let k = 0; k < n; k++) out.push(imageTokenId);
  }
  return { ids: out, spans };
}

function keepExpanded(ids: readonly number[], imageTokenId: number, featureTokens: readonly number[]): ExpandedIds {
  const spans: ImageSpan[] = [];
  let i = 0;
  while (i < ids.length) {
    if (ids[i] !== imageTokenId) {
      i++;
      continue;
    }
    const n = featureTokens[spans.length] as number;
    for (let k = 0; k < n; k++) {
      if (ids[i + k] !== imageTokenId) {
        throw new AppError(
          'bad-input',
          `image ${spans.length + 1} needs ${n} consecutive image tokens at position ${i} but the run ends after ${k}`,
        );
      }
    }
    spans.push({ start: i, end: i + n });
    i += n;
  }
  return { ids: [...ids], spans };
}

/** For the error message: a run of image tokens of a feature-token length counts as one placeholder. */
function countPlaceholders(ids: readonly number[], imageTokenId: number, featureTokens: readonly number[]): number {
  const lengths = new Set(featureTokens);
  let count = 0;
  let run = 0;
  for (let i = 0; i <= ids.length; i++) {
    if (i < ids.length && ids[i] === imageTokenId) {
      run++;
      continue;
    }
    if (run > 0) count += lengths.has(run) ? 1 : run;
    run = 0;
  }
  return count;
}
