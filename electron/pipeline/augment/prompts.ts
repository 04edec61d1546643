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
  /** Pic-in-pic only: the opener. */
  centrePhrase?: string;
  /** Default `Image` (labels and headers read `Image{n}`). */
  labelPrefix?: string;
}

function prefixFor(spec: RewriteSpec): string {
  if (spec.format === 'pip') {
    if (!spec.centrePhrase) throw new RangeError('pic-in-pic rewrite needs a centre phrase');
    return `${spec.centrePhrase}, `;
  }
  return `In ${spec.labelPrefix ?? 'Image'}${spec.targetIndex}, `;
}

/** The first human turn with its images placed: labelled `Image{n}:<image>` lines for a sequence, else the one composite. */
function withImages(question: string, spec: RewriteSpec): string {
  if (spec.format !== 'sequence') return withImagePlaceholders(question, 1);
  let header = '';
  for (let n = 1; n <= spec.imageCount; n++) header += `${spec.labelPrefix ?? 'Image'}${n}:${IMAGE_PLACEHOLDER}\n`;
  return header + question;
}

/**
 * The rewritten conversation. Every human turn gets the format's prefix and a
 * lower-cased first letter; the first human turn also gets the image header.
 * Answers are unchanged.
 */
export function rewriteConversation(conversation: readonly Turn[], spec: RewriteSpec): Turn[] {
  const prefix = prefixFor(spec);
  let seenHuman = false;
  return conversation.map((turn) => {
    if (turn.from !== 'human') return { ...turn };
    const question = prefix + lowerFirst(stripImageToken(turn.value));
    const value = seenHuman ? question : withImages(question, spec);
    seenHuman = true;
    return { from: 'human', value };
  });
}
