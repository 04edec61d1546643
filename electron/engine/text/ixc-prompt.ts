// InternLM-XComposer-2.5 prompts: the chat format its `chat()` builds, images placed
// by `<ImageHere>`, and the encoding of `interleav_wrap_chat` (text split at each
// placeholder, every part tokenized on its own, BOS only on the first part). The
// result is the text parts' ids and where each image's embeddings go; the decoder
// embeds the parts, puts the projected image features between them, and marks those
// rows for PLoRA. Facts and sources: ../shared/IXC25.md; decision 0711.

import { AppError } from '../../../shared/errors';
import { IMAGE_PLACEHOLDER } from './image-placeholders';
import type { ImageSpan } from './image-tokens';
import { stopCriteria } from './stop-tokens';
import type { StopCriteria } from './stop-tokens';
import type { TextTokenizer } from './tokenizer';

/** Where an image goes in an IXC2.5 prompt; the official code splits the text here (never a token). */
export const IXC_IMAGE_PLACEHOLDER = '<ImageHere>';
/** Opens a turn: `[UNUSED_TOKEN_146]user\n`. */
export const IXC_TURN_START = '[UNUSED_TOKEN_146]';
/** Ends a turn; also a stop id of generation. */
export const IXC_TURN_END = '[UNUSED_TOKEN_145]';
/** `input_ids` value standing for an image in a model without an image token id (LLaVA's IMAGE_TOKEN_INDEX). */
export const IMAGE_INDEX_MARKER = -200;

/** A response's ids as IxcSession.score scores it (and DPO trains on it): the text then the end-of-turn token. */
export function ixcResponseIds(tokenizer: Pick<TextTokenizer, 'encode'>, response: string): number[] {
  return tokenizer.encode(response + IXC_TURN_END, { addSpecialTokens: false });
}

/** The system text `chat(use_meta=True)` sends (the README examples pass use_meta=True). */
export const IXC_META_INSTRUCTION = [
  'You are an AI assistant whose name is InternLM-XComposer (浦语·灵笔).',
  '- InternLM-XComposer (浦语·灵笔) is a multi-modality conversational language model that is developed by Shanghai AI ' +
    'Laboratory (上海人工智能实验室). It is designed to be helpful, honest, and harmless.',
  '- InternLM-XComposer (浦语·灵笔) can understand and communicate fluently in the language chosen by the user such as ' +
    'English and 中文.',
  '- InternLM-XComposer (浦语·灵笔) is capable of comprehending and articulating responses effectively based on the ' +
    'provided image.',
].join('\n');

/**
 * How `Image{n}:<image>` header lines (MIA-DPO's sequence prompts) become IXC placeholders:
 * `readme` = the README's `Image1 <ImageHere>; Image2 <ImageHere>; question` on one line;
 * `lines` = the fine-tuning data's labels kept one per line, `Image1: <ImageHere>\n…`.
 */
export type IxcMultiImageStyle = 'readme' | 'lines';

export interface IxcTurn {
  user: string;
  assistant: string;
}

export interface IxcRenderOptions {
  /** The system turn: true = IXC_META_INSTRUCTION, a string = that text, false/absent = none (chat()'s default). */
  meta?: boolean | string;
  /** Earlier turns, rendered before the query as chat(history=...) does. */
  history?: readonly IxcTurn[];
}

/**
 * The query in IXC2.5's placeholders: a leading `Image{n}:<image>` header (one line per image, n = 1, 2, …)
 * becomes `style`'s form; with `images` 1, a leading `<image>\n` line that is the only placeholder (what the
 * pipeline puts before a one-image question) is dropped, so the image goes in front of the whole prompt as
 * chat() puts it; any other `<image>` becomes `<ImageHere>`.
 */
export function toIxcPlaceholders(
  query: string,
  options: { style?: IxcMultiImageStyle; images?: number } = {},
): string {
  const style = options.style ?? 'readme';
  const header = new RegExp(`^(?:[A-Za-z]+\\d+:${escape(IMAGE_PLACEHOLDER)}\\n)+`).exec(query);
  if (header !== null) {
    const labels = header[0].split('\n').filter((l) => l !== '');
    const rest = mapImageTokens(query.slice(header[0].length));
    const names = labels.map((l) => l.slice(0, l.indexOf(':')));
    if (style === 'lines') return names.map((n) => `${n}: ${IXC_IMAGE_PLACEHOLDER}\n`).join('') + rest;
    return names.map((n) => `${n} ${IXC_IMAGE_PLACEHOLDER}; `).join('') + rest;
  }
  const single = `${IMAGE_PLACEHOLDER}\n`;
  if (options.images === 1 && query.startsWith(single) && !query.slice(single.length).includes(IMAGE_PLACEHOLDER)) {
    return mapImageTokens(query.slice(single.length));
  }
  return mapImageTokens(query);
}

/** The README's multi-image query, `Image1 <ImageHere>; Image2 <ImageHere>; question`, for `images` images. */
export function ixcMultiImageQuery(question: string, images: number): string {
  let head = '';
  for (let n = 1; n <= images; n++) head += `Image${n} ${IXC_IMAGE_PLACEHOLDER}; `;
  return head + question;
}

/** The full prompt text chat() builds for `query` (its `<ImageHere>` kept where they are). */
export function renderIxcPrompt(query: string, options: IxcRenderOptions = {}): string {
  const meta = options.meta === true ? IXC_META_INSTRUCTION : options.meta === false ? '' : (options.meta ?? '');
  let prompt = meta === '' ? '' : `${IXC_TURN_START}system\n${meta}${IXC_TURN_END}\n`;
  for (const turn of options.history ?? []) {
    prompt += `${IXC_TURN_START}user\n${turn.user}${IXC_TURN_END}\n`;
    prompt += `${IXC_TURN_START}assistant\n${turn.assistant}${IXC_TURN_END}\n`;
  }
  return prompt + `${IXC_TURN_START}user\n${query}${IXC_TURN_END}\n${IXC_TURN_START}assistant\n`;
}

export type IxcPromptSource =
  | { query: string; render?: IxcRenderOptions; style?: IxcMultiImageStyle }
  /** The full text, used verbatim (the CLI's `--raw`); only `<image>` is mapped to `<ImageHere>`. */
  | { raw: string };

/** One piece of the merged sequence, in order: a text part's ids, or image `index` (0-based). */
export type IxcSegment = { kind: 'text'; text: string; ids: number[] } | { kind: 'image'; index: number };

export interface IxcEncodedPrompt {
  /** The prompt text split at its placeholders (the single-image front placement applied). */
  text: string;
  segments: IxcSegment[];
  /** Text ids with each image as one marker: the image token id if the tokenizer has one, else -200. */
  inputIds: number[];
  /** Index of each image's marker in `inputIds`. */
  imagePositions: number[];
  /** With `featureTokens`: each image's rows in the merged sequence (separators included). */
  spans?: ImageSpan[];
  /** With `featureTokens`: the merged sequence's length. */
  length?: number;
}

export interface IxcEncodeOptions {
  /** Images given with the prompt, in order. */
  images: number;
  /** Embedding rows of each image (`(h·w+1)·400 + 1 + (h+1)·20` at 560 px); gives spans and length. */
  featureTokens?: readonly number[];
  /** The longest merged sequence allowed (chat() truncates at 16384; we refuse instead). */
  maxLength?: number;
}

type PromptTokenizer = Pick<TextTokenizer, 'encode' | 'special' | 'source'>;

/** The prompt of `source` encoded as interleav_wrap_chat does (see the file header). */
export function encodeIxcPrompt(
  tokenizer: PromptTokenizer,
  source: IxcPromptSource,
  options: IxcEncodeOptions,
): IxcEncodedPrompt {
  const { images } = options;
  if (!Number.isInteger(images) || images < 0) throw new AppError('bad-input', `image count ${images} is invalid`);
  let text =
    'raw' in source
      ? mapImageTokens(source.raw)
      : renderIxcPrompt(toIxcPlaceholders(source.query, { style: source.style, images }), source.render);
  // chat(): one image and no placeholder -> the image goes before everything, system turn included.
  if (images === 1 && !text.includes(IXC_IMAGE_PLACEHOLDER)) text = IXC_IMAGE_PLACEHOLDER + text;
  const parts = text.split(IXC_IMAGE_PLACEHOLDER);
  if (parts.length - 1 !== images) {
    const found = parts.length - 1;
    throw new AppError(
      'bad-input',
      `the prompt has ${found} ${IXC_IMAGE_PLACEHOLDER} placeholder${found === 1 ? '' : 's'} but ${images} ` +
        `image${images === 1 ? ' was' : 's were'} given; put one ${IXC_IMAGE_PLACEHOLDER} (or <image>) where ` +
        `each image goes, e.g. "${ixcMultiImageQuery('question', Math.max(images, 2))}"`,
    );
  }
  const marker = tokenizer.special.image?.id ?? IMAGE_INDEX_MARKER;
  const segments: IxcSegment[] = [];
  const inputIds: number[] = [];
  const imagePositions: number[] = [];
  parts.forEach((part, k) => {
    // The first part is encoded even when empty (it then holds just BOS); later empty parts add nothing.
    if (k === 0 || part.length > 0) {
      const ids = tokenizer.encode(part, { addSpecialTokens: k === 0 });
      segments.push({ kind: 'text', text: part, ids });
      inputIds.push(...ids);
    }
    if (k < images) {
      segments.push({ kind: 'image', index: k });
      imagePositions.push(inputIds.length);
      inputIds.push(marker);
    }
  });
  const encoded: IxcEncodedPrompt = { text, segments, inputIds, imagePositions };
  if (options.featureTokens !== undefined) Object.assign(encoded, mergedSpans(segments, options, tokenizer.source));
  return encoded;
}

function mergedSpans(
  segments: readonly IxcSegment[],
  options: IxcEncodeOptions,
  source: string,
): { spans: ImageSpan[]; length: number } {
  const features = options.featureTokens ?? [];
  if (features.length !== options.images) {
    throw new AppError('bad-input', `${features.length} feature-token counts given for ${options.images} image(s)`);
  }
  for (const [i, n] of features.entries()) {
    if (!Number.isInteger(n) || n < 1)
      throw new AppError('bad-input', `image ${i + 1}: feature-token count ${n} is not a positive integer`);
  }
  const spans: ImageSpan[] = [];
  let length = 0;
  for (const s of segments) {
    if (s.kind === 'text') length += s.ids.length;
    else {
      const n = features[s.index] as number;
      spans.push({ start: length, end: length + n });
      length += n;
    }
  }
  if (options.maxLength !== undefined && length > options.maxLength) {
    throw new AppError(
      'bad-input',
      `the prompt is ${length} tokens with its image tokens, longer than the ${options.maxLength} allowed (${source})`,
    );
  }
  return { spans, length };
}

/** Generation stops at EOS (generation_config / tokenizer) or at the end-of-turn token `[UNUSED_TOKEN_145]`. */
export function ixcStopCriteria(
  tokenizer: Pick<TextTokenizer, 'special' | 'tokenId' | 'source'>,
  generationEosIds: readonly number[],
): StopCriteria {
  const endOfTurn = tokenizer.tokenId(IXC_TURN_END);
  if (endOfTurn === undefined) {
    throw new AppError('bad-file', `${tokenizer.source} has no ${IXC_TURN_END} token: not an InternLM2 tokenizer`, {
      subject: tokenizer.source,
    });
  }
  return stopCriteria(tokenizer, [...generationEosIds, endOfTurn]);
}

/** The reply as chat() returns it: the decoded text cut at the first end-of-turn marker. */
export function ixcReplyText(decoded: string): string {
  const end = decoded.indexOf(IXC_TURN_END);
  return end < 0 ? decoded : decoded.slice(0, end);
}

function mapImageTokens(text: string): string {
  return text.split(IMAGE_PLACEHOLDER).join(IXC_IMAGE_PLACEHOLDER);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
