// A word-level diff of the chosen and rejected answers for the review focus
// view: the longest common subsequence of words (whitespace kept with the word
// before it), so a curator sees at a glance where the model's answer departs
// from the ground truth. Texts are short (ground truth < 512 characters); past
// MAX_WORDS words per side the rest is shown as one changed run.

export type DiffOp = 'same' | 'del' | 'add';
export interface DiffPart {
  op: DiffOp;
  /** The words as in `b` (same, add) or `a` (del). */
  text: string;
  /** For 'same': the words as in `a` (whitespace may differ). */
  old?: string;
}

const MAX_WORDS = 1500;

/** Words with their trailing whitespace: joining them gives the text back. */
export function words(text: string): string[] {
  return text.match(/\s+|\S+\s*/g) ?? [];
}

const norm = (w: string) => w.trim();

/** Parts of `a` (del, same's `old`) and `b` (add, same's `text`) in reading order: each side joins back to its text. */
export function wordDiff(a: string, b: string): DiffPart[] {
  const x = words(a);
  const y = words(b);
  const n = Math.min(x.length, MAX_WORDS);
  const m = Math.min(y.length, MAX_WORDS);
  // lcs[i][j]: LCS length of x[i..n) and y[j..m).
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = norm(x[i]!) === norm(y[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffPart[] = [];
  const push = (op: DiffOp, text: string, old?: string) => {
    const last = out[out.length - 1];
    if (last !== undefined && last.op === op) {
      last.text += text;
      if (old !== undefined) last.old = (last.old ?? '') + old;
    } else out.push(old === undefined ? { op, text } : { op, text, old });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (norm(x[i]!) === norm(y[j]!)) {
      push('same', y[j]!, x[i]!);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push('del', x[i++]!);
    else push('add', y[j++]!);
  }
  for (; i < x.length; i++) push('del', x[i]!);
  for (; j < y.length; j++) push('add', y[j]!);
  return out;
}
