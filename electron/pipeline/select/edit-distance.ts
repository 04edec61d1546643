// Levenshtein distance (unit costs) over characters or token ids, for the
// post-selection "nearly identical to the chosen answer" metric.
// Common prefix and suffix are skipped first: pairs often share long runs.

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let start = 0;
  let endA = a.length;
  let endB = b.length;
  while (start < endA && start < endB && a[start] === b[start]) start++;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const n = endA - start;
  const m = endB - start;
  if (n === 0) return m;
  if (m === 0) return n;
  const row = new Int32Array(m + 1);
  for (let j = 0; j <= m; j++) row[j] = j;
  for (let i = 1; i <= n; i++) {
    let diag = row[0] as number;
    row[0] = i;
    const ai = a[start + i - 1];
    for (let j = 1; j <= m; j++) {
      const up = row[j] as number;
      const cost = ai === b[start + j - 1] ? 0 : 1;
      row[j] = Math.min(up + 1, (row[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return row[m] as number;
}

/** Unicode code points, so an emoji counts as one character. */
export function codePoints(text: string): Int32Array {
  return Int32Array.from(text, (ch) => ch.codePointAt(0) as number);
}

export function charEditDistance(a: string, b: string): number {
  return distance(codePoints(a), codePoints(b));
}

export function tokenEditDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return distance(a, b);
}
