// The text a model is asked for one benchmark item (issue 10): its images
// first when the question does not place them (`Image{i}:<image>\n` per
// image, the method's sequence header from the augment step; one `<image>\n` for a single
// image), then the item as VLMEvalKit's LLaVA prompt formats it: the hint and
// the question on separate lines, one `X. text` line per option, and the
// answer instruction for the item's kind. The chat template is applied later
// by the session, which leaves placed `<image>`s alone.
import { IMAGE_PLACEHOLDER } from '../../engine/text/image-placeholders';
import { sequenceHeader } from '../augment/prompts';
import type { BenchOption, ItemKind } from './bench-read';

export interface PromptItem {
  question: string;
  hint: string | null;
  options: readonly BenchOption[];
  kind: ItemKind;
  imageCount: number;
}

/** VLMEvalKit's LLaVA instructions (vlmeval/vlm/llava: the option-letter one for multiple choice). */
export const INSTRUCTIONS: Record<ItemKind, string> = {
  mcq: "Answer with the option's letter from the given choices directly.",
  yesno: 'Please answer yes or no.',
  short: 'Answer the question using a single word or phrase.',
};

/** The image lines before the question: none when the question already places its images. */
export function imageLines(question: string, imageCount: number): string {
  if (question.includes(IMAGE_PLACEHOLDER)) return '';
  if (imageCount === 1) return `${IMAGE_PLACEHOLDER}\n`;
  return sequenceHeader(imageCount);
}

export function buildPrompt(item: PromptItem): string {
  let body = item.hint === null ? item.question : `${item.hint}\n${item.question}`;
  for (const o of item.options) body += `\n${o.letter}. ${o.text}`;
  // A yes/no question that already asks for yes or no (MME's do) is not asked twice.
  const asks = item.kind === 'yesno' && /yes or no/i.test(item.question);
  return `${imageLines(item.question, item.imageCount)}${body}${asks ? '' : `\n${INSTRUCTIONS[item.kind]}`}`;
}
