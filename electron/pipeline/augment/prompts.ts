// Prompt rewriting: turns a single-image conversation into the multi-image
// prompt of each format (MIA-DPO.md): sequence headers, `In Image{k}, `
// prefixes, and the pic-in-pic centre phrase.
import type { Format } from '../../../shared/pipeline/formats';
import type { Turn } from '../../../shared/pipeline/types';
import { IMAGE_PLACEHOLDER, withImagePlaceholders } from '../../engine/text/image-placeholders';

/**
 * The question without its `<image>` placeholder(s): the text around each
 * placeholder is trimmed and the non-empty pieces joined by a newline, so
 * `<image>\nWhat is it?` and `What is it?\n<image>` both give `What is it?`.
 */
export function stripImageToken(text: string): string {
  return text
    .split(IMAGE_PLACEHOLDER)
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 0)
    .join('\n');
}

/**
 * First character lower-cased, as the reference does (`q[0].lower() + q[1:]`)
 * when it is a letter; questions opening with a digit, quote or bracket are
 * kept unchanged.
 */
export function lowerFirst(text: string): string {
  const first = text.codePointAt(0);
  if (first === undefined) return text;
  const ch = String.fromCodePoint(first);
  return /\p{L}/u.test(ch) ? ch.toLowerCase() + text.slice(ch.length) : text;
}

export interface RewriteSpec {
  format: Format;
  imageCount: number;
  /** 1-based. */
  targetIndex: number;
  /** Pic-in-pic only: the opener of each human turn, in order (the reference draws a new one per turn). */
  centrePhrases?: readonly string[];
  /** Default `Image` (labels and headers read `Image{n}`). */
  labelPrefix?: string;
}

/** The prefix of the `humanTurn`-th (0-based) human turn. */
function prefixFor(spec: RewriteSpec, humanTurn: number): string {
  if (spec.format === 'pip') {
    const phrase = spec.centrePhrases?.[humanTurn];
    if (!phrase) throw new RangeError(`pic-in-pic rewrite needs a centre phrase for human turn ${humanTurn + 1}`);
    return `${phrase}, `;
  }
  return `In ${spec.labelPrefix ?? 'Image'}${spec.targetIndex}, `;
}

/** The method's sequence header (MIA-DPO.md): one `Image{n}:<image>` line per image, no space after the colon. */
export function sequenceHeader(imageCount: number, labelPrefix = 'Image'): string {
  let header = '';
  for (let n = 1; n <= imageCount; n++) header += `${labelPrefix}${n}:${IMAGE_PLACEHOLDER}\n`;
  return header;
}

/** The first human turn with its images placed: the sequence header for a sequence, else the one composite. */
function withImages(question: string, spec: RewriteSpec): string {
  if (spec.format !== 'sequence') return withImagePlaceholders(question, 1);
  return sequenceHeader(spec.imageCount, spec.labelPrefix) + question;
}

/**
 * The rewritten conversation. Every human turn gets the format's prefix (for
 * pic-in-pic, that turn's centre phrase) and a lower-cased first letter; the
 * first human turn also gets the image header. Answers are unchanged.
 */
export function rewriteConversation(conversation: readonly Turn[], spec: RewriteSpec): Turn[] {
  let humanTurn = 0;
  return conversation.map((turn) => {
    if (turn.from !== 'human') return { ...turn };
    const question = prefixFor(spec, humanTurn) + lowerFirst(stripImageToken(turn.value));
    const value = humanTurn === 0 ? withImages(question, spec) : question;
    humanTurn++;
    return { from: 'human', value };
  });
}

/** Number of human turns: how many centre phrases a pic-in-pic rewrite needs. */
export function humanTurns(conversation: readonly Turn[]): number {
  return conversation.filter((t) => t.from === 'human').length;
}
