// The text formats of benchmark files: tab-separated values as pandas writes
// them (csv.QUOTE_MINIMAL: a field holding a tab, a newline or a quote is
// quoted, quotes doubled), and the list strings VLMEvalKit stores in a cell
// (a Python list literal `['a', 'b']` or a JSON list `["a", "b"]`).

/** A table's records; `line` is the 1-based line each record starts on. Never throws. */
export interface TsvTable {
  header: string[];
  records: { line: number; fields: string[] }[];
  /** Records whose quoting is broken (an unclosed quote runs to the end of the file). */
  broken: { line: number; message: string }[];
}

export function parseTsv(text: string): TsvTable {
  const rows: { line: number; fields: string[] }[] = [];
  const broken: TsvTable['broken'] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let ended = false;
    while (!ended) {
      if (text[i] === '"') {
        // A quoted field: up to the closing quote; "" inside is one quote.
        i++;
        let closed = false;
        while (i < text.length) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (!closed) {
          broken.push({ line: start, message: `a quoted field opened on line ${start} is never closed` });
          return { header: rows[0]?.fields ?? [], records: rows.slice(1), broken };
        }
      }
      while (i < text.length && text[i] !== '\t' && text[i] !== '\n') {
        if (text[i] !== '\r' || text[i + 1] !== '\n') field += text[i];
        i++;
      }
      fields.push(field);
      field = '';
      if (i >= text.length || text[i] === '\n') {
        ended = true;
        if (i < text.length) line++;
      }
      i++;
    }
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: start, fields });
  }
  return { header: rows[0]?.fields ?? [], records: rows.slice(1), broken };
}

/**
 * The strings of a list cell: a JSON list, or a Python list literal of quoted
 * strings (single or double quotes, backslash escapes). Null when `cell` is not
 * a list of strings.
 */
export function parseListCell(cell: string): string[] | null {
  const s = cell.trim();
  if (!s.startsWith('[') || !s.endsWith(']')) return null;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    return null;
  } catch {
    return parsePythonList(s);
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };

function parsePythonList(s: string): string[] | null {
  const out: string[] = [];
  let i = 1;
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  skipSpace();
  if (s[i] === ']') return i === s.length - 1 ? out : null;
  for (;;) {
    skipSpace();
    const quote = s[i];
    if (quote !== "'" && quote !== '"') return null;
    i++;
    let v = '';
    for (;;) {
      if (i >= s.length) return null;
      const c = s[i]!;
      if (c === '\\') {
        const e = ESCAPES[s[i + 1] ?? ''];
        if (e === undefined) return null;
        v += e;
        i += 2;
      } else if (c === quote) {
        i++;
        break;
      } else {
        v += c;
        i++;
      }
    }
    out.push(v);
    skipSpace();
    if (s[i] === ',') {
      i++;
      skipSpace();
      if (s[i] === ']') return i === s.length - 1 ? out : null;
      continue;
    }
    return s[i] === ']' && i === s.length - 1 ? out : null;
  }
}
