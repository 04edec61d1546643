// A word-level diff of the chosen and rejected answers for the review focus
// view: the longest common subsequence of words (whitespace kept with the word
// before it), so a curator sees at a glance where the model's answer departs
// from the ground truth. Texts are short (ground truth < 512 characters); past
// MAX_WORDS words per side the rest is shown as one changed run.

export type DiffOp = 'same' | 'del' | 'add';
export interface DiffPart {
  op: DiffOp;
  text: string;
}

const MAX_WORDS = 1500;

/** Words with their trailing whitespace: joining them gives the text back. */
export function words(text: string): string[] {
  return text.match(/\s+|\S+\s*/g) ?? [];
}

const norm = (w: string) => w.trim();

/** Parts of `a` (del, same) and `b` (add, same) in reading order: dels and adds of one change run are adjacent. */
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
  const push = (op: DiffOp, text: string) => {
    const last = out[out.length - 1];
    if (last !== undefined && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (norm(x[i]!) === norm(y[j]!)) {
      push('same', y[j]!);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push('del', x[i++]!);
    else push('add', y[j++]!);
  }
  for (; i < x.length; i++) push('del', x[i]!);
  for (; j < y.length; j++) push('add', y[j]!);
  return out;
}
