// Answer extraction without an LLM judge (issue 10; docs/decisions/0630): the
// rules VLMEvalKit applies before it would call a judge, so a greedy answer is
// scored the way VLMEvalKit users expect.
// - Multiple choice (its `can_infer`): punctuation `.()[],:;!*#{}` becomes
//   spaces and the answer is split into words; exactly one word that is an
//   option letter gives that letter. Otherwise the option texts (lower-cased)
//   are searched in the lower-cased answer: exactly one found gives its letter.
//   Anything else (none, or several) is no prediction, counted wrong.
// - Yes/no (its `YOrN_Extraction`): the answer's words (lower-cased,
//   punctuation removed) contain `yes` and not `no`: Yes; `no` and not `yes`:
//   No; otherwise no prediction.
// - Short answer: the answer and the expected text agree after lower-casing,
//   dropping punctuation, articles and extra spaces (VQA's normalisation, in
//   short); the prediction is the normalised answer.
import type { BenchOption, ItemKind } from './bench-read';

const OPTION_PUNCTUATION = /[.()[\],:;!*#{}]/g;

export function inferOption(answer: string, options: readonly BenchOption[]): string | null {
  const words = new Set(answer.replace(OPTION_PUNCTUATION, ' ').split(/\s+/).filter(Boolean));
  const letters = options.filter((o) => words.has(o.letter));
  if (letters.length === 1) return letters[0]!.letter;
  if (letters.length > 1) return null;
  const lower = answer.toLowerCase();
  const texts = options.filter((o) => lower.includes(o.text.toLowerCase()));
  return texts.length === 1 ? texts[0]!.letter : null;
}

const words = (s: string): string[] =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);

export function inferYesNo(answer: string): 'Yes' | 'No' | null {
  const w = new Set(words(answer));
  if (w.has('yes') && !w.has('no')) return 'Yes';
  if (w.has('no') && !w.has('yes')) return 'No';
  return null;
}

const ARTICLES = new Set(['a', 'an', 'the']);

export function normaliseShort(s: string): string {
  return words(s)
    .filter((w) => !ARTICLES.has(w))
    .join(' ');
}

export interface Extracted {
  prediction: string | null;
  correct: boolean;
}

/** The prediction in a generated answer and whether it matches the item's answer. */
export function extractAnswer(
  response: string,
  item: { kind: ItemKind; options: readonly BenchOption[]; answer: string },
): Extracted {
  const prediction =
    item.kind === 'mcq'
      ? inferOption(response, item.options)
      : item.kind === 'yesno'
        ? inferYesNo(response)
        : normaliseShort(response) || null;
  const expected = item.kind === 'short' ? normaliseShort(item.answer) : item.answer;
  return { prediction, correct: prediction !== null && prediction === expected };
}
