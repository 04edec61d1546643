// Reads a benchmark file's text into items (issue 10, item 1): VLMEvalKit TSV
// (`index`, `question`, `hint`, options `A`..`H`, `answer`, `category`,
// `l2-category`, `image` / `image_path`) or JSON / JSONL (`question`,
// `options`, `answer`, `images`, `category`). Pure and total: a bad row becomes
// a problem naming its index and reason, never an exception. Images are only
// located here; ./bench-import.ts decodes them into the project cache.
import { OPTION_LETTERS, type BenchProblem, type BenchProblemReason } from '../../../shared/pipeline/eval';
import { parseListCell, parseTsv } from './tsv';

export type ItemKind = 'mcq' | 'yesno' | 'short';

/** Where an item's image is: base64 bytes in the file, a file path (relative to the benchmark file), or another row's image. */
export type ImageRef =
  | { kind: 'base64'; data: string }
  | { kind: 'path'; path: string }
  /** VLMEvalKit stores a repeated image once: a short `image` cell is the `index` of the row that holds it. */
  | { kind: 'ref'; index: string };

export interface BenchOption {
  letter: string;
  text: string;
}

export interface BenchCandidate {
  /** 1-based data row. */
  row: number;
  index: string;
  question: string;
  hint: string | null;
  /** In letter order A, B, ... (empty for yes/no and short-answer items). */
  options: BenchOption[];
  /** An option letter (mcq), `Yes`/`No` (yesno), or the expected text (short). */
  answer: string;
  kind: ItemKind;
  category: string;
  l2Category: string | null;
  images: ImageRef[];
}

export interface BenchRead {
  items: BenchCandidate[];
  problems: BenchProblem[];
}

/** The category of an item that names none. */
export const NO_CATEGORY = 'uncategorized';

/** A VLMEvalKit image cell this short is another row's index, not base64 (its `dump_image` convention). */
const REF_MAX = 64;
const BASE64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

class RowProblem {
  constructor(
    readonly reason: BenchProblemReason,
    readonly message: string,
  ) {}
}

const text = (v: unknown): string | null => {
  if (typeof v === 'string') return v.trim() === '' ? null : v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
};

/** Options A.. in order: a gap (A, C without B) or a non-text option is refused. */
function checkOptions(options: BenchOption[]): BenchOption[] {
  options.forEach((o, i) => {
    if (o.letter !== OPTION_LETTERS[i])
      throw new RowProblem(
        'bad-options',
        `options must be A, B, C... without gaps; found ${options.map((x) => x.letter).join(', ')}`,
      );
  });
  return options;
}

/** The answer normalised to the item's kind: an option letter (also when written as the option's text), Yes/No, or text. */
function normaliseAnswer(raw: string, options: BenchOption[]): { answer: string; kind: ItemKind } {
  const a = raw.trim();
  if (options.length > 0) {
    const letter = options.find((o) => o.letter === a.toUpperCase() && a.length === 1);
    if (letter) return { answer: letter.letter, kind: 'mcq' };
    const byText = options.filter((o) => o.text.trim().toLowerCase() === a.toLowerCase());
    if (byText.length === 1) return { answer: byText[0]!.letter, kind: 'mcq' };
    throw new RowProblem(
      'bad-answer',
      `answer "${a.slice(0, 80)}" is not one of the option letters ${options.map((o) => o.letter).join(', ')} (nor an option's text)`,
    );
  }
  const yn = a.toLowerCase();
  if (yn === 'yes' || yn === 'no') return { answer: yn === 'yes' ? 'Yes' : 'No', kind: 'yesno' };
  return { answer: a, kind: 'short' };
}

function imageCells(cell: string, what: 'image' | 'path'): string[] {
  const list = parseListCell(cell);
  const values = list ?? [cell];
  if (values.length === 0 || values.some((v) => v.trim() === ''))
    throw new RowProblem(
      what === 'image' ? 'bad-image' : 'missing-image',
      `the ${what} list is empty or has an empty entry`,
    );
  return values.map((v) => v.trim());
}

function base64Images(cell: string): ImageRef[] {
  return imageCells(cell, 'image').map((v, i) => {
    if (v.length <= REF_MAX) return { kind: 'ref', index: v };
    if (!BASE64.test(v))
      throw new RowProblem('bad-image', `image ${i + 1} is not base64 (nor a list of base64 strings)`);
    return { kind: 'base64', data: v };
  });
}

interface RawRow {
  row: number;
  index: string | null;
  question: unknown;
  hint: unknown;
  options: BenchOption[];
  answer: unknown;
  category: unknown;
  l2Category: unknown;
  images: () => ImageRef[];
}

function candidate(r: RawRow, index: string): BenchCandidate {
  const question = text(r.question);
  if (question === null) throw new RowProblem('missing-question', 'the question is empty');
  const rawAnswer = text(r.answer);
  if (rawAnswer === null) throw new RowProblem('missing-answer', 'the answer is empty');
  const options = checkOptions(r.options);
  const { answer, kind } = normaliseAnswer(rawAnswer, options);
  const images = r.images();
  if (images.length === 0) throw new RowProblem('no-image', 'the item has no image');
  return {
    row: r.row,
    index,
    question,
    hint: text(r.hint),
    options,
    answer,
    kind,
    category: text(r.category) ?? NO_CATEGORY,
    l2Category: text(r.l2Category),
    images,
  };
}

function collect(rows: Iterable<RawRow | { row: number; index: string | null; problem: RowProblem }>): BenchRead {
  const items: BenchCandidate[] = [];
  const problems: BenchProblem[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const index = r.index ?? String(r.row - 1);
    const problem = (p: RowProblem) => problems.push({ index, row: r.row, reason: p.reason, message: p.message });
    if ('problem' in r) {
      problem(r.problem);
      continue;
    }
    if (seen.has(index)) {
      problem(new RowProblem('duplicate-index', `index ${index} was used by an earlier row`));
      continue;
    }
    try {
      items.push(candidate(r, index));
      seen.add(index);
    } catch (e) {
      if (!(e instanceof RowProblem)) throw e;
      problem(e);
    }
  }
  // A reference to a row that was not imported (or to none) is the referring row's problem.
  const held = new Set(items.filter((i) => i.images.every((im) => im.kind !== 'ref')).map((i) => i.index));
  const kept = items.filter((i) => {
    const bad = i.images.find((im) => im.kind === 'ref' && !held.has(im.index));
    if (bad?.kind === 'ref')
      problems.push({
        index: i.index,
        row: i.row,
        reason: 'bad-image',
        message: `image "${bad.index}" is neither base64 nor the index of an imported row that holds an image`,
      });
    return bad === undefined;
  });
  problems.sort((a, b) => a.row - b.row);
  return { items: kept, problems };
}

/** A VLMEvalKit TSV's items and problems. */
export function readBenchTsv(source: string): BenchRead {
  const table = parseTsv(source);
  const col = new Map(table.header.map((h, i) => [h.trim(), i]));
  const missing = ['question', 'answer'].filter((c) => !col.has(c));
  const noImage = !col.has('image') && !col.has('image_path');
  if (missing.length > 0 || noImage) {
    const what = [...missing, ...(noImage ? ['image or image_path'] : [])].join(', ');
    return {
      items: [],
      problems: [
        { index: 'header', row: 1, reason: 'malformed-row', message: `the header lacks the column(s) ${what}` },
      ],
    };
  }
  const rows = table.records.map((rec, n) => {
    const get = (c: string): string | undefined => {
      const at = col.get(c);
      return at === undefined ? undefined : rec.fields[at];
    };
    const row = n + 1;
    const index = text(get('index'));
    if (rec.fields.length !== table.header.length)
      return {
        row,
        index,
        problem: new RowProblem(
          'malformed-row',
          `line ${rec.line} has ${rec.fields.length} fields; the header has ${table.header.length}`,
        ),
      };
    const image = text(get('image'));
    const imagePath = text(get('image_path'));
    return {
      row,
      index,
      question: get('question'),
      hint: get('hint'),
      options: OPTION_LETTERS.flatMap((letter) => {
        const t = text(get(letter));
        return t === null ? [] : [{ letter, text: t }];
      }),
      answer: get('answer'),
      category: get('category'),
      l2Category: get('l2-category'),
      images: (): ImageRef[] =>
        image !== null
          ? base64Images(image)
          : imagePath !== null
            ? imageCells(imagePath, 'path').map((p) => ({ kind: 'path', path: p }))
            : [],
    };
  });
  const broken = table.broken.map((b) => ({
    row: table.records.length + 1,
    index: null,
    problem: new RowProblem('malformed-row', b.message),
  }));
  return collect([...rows, ...broken]);
}

function jsonOptions(v: unknown): BenchOption[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) {
    if (v.length > OPTION_LETTERS.length)
      throw new RowProblem('bad-options', `${v.length} options; at most ${OPTION_LETTERS.length} (A-H)`);
    return v.map((t, i) => {
      const s = text(t);
      if (s === null) throw new RowProblem('bad-options', `option ${i + 1} is not text`);
      return { letter: OPTION_LETTERS[i]!, text: s };
    });
  }
  if (typeof v === 'object') {
    return Object.entries(v as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([letter, t]) => {
        const s = text(t);
        if (s === null) throw new RowProblem('bad-options', `option ${letter} is not text`);
        return { letter: letter.trim().toUpperCase(), text: s };
      });
  }
  throw new RowProblem('bad-options', 'options must be a list of texts or an object of letter -> text');
}

function jsonRow(value: unknown, row: number): RawRow | { row: number; index: string | null; problem: RowProblem } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { row, index: null, problem: new RowProblem('malformed-row', 'the entry is not a JSON object') };
  const o = value as Record<string, unknown>;
  const index = text(o.index) ?? text(o.id);
  try {
    const options = jsonOptions(o.options);
    const images = o.images ?? o.image;
    return {
      row,
      index,
      question: o.question,
      hint: o.hint,
      options,
      answer: o.answer,
      category: o.category,
      l2Category: o['l2-category'],
      images: (): ImageRef[] => {
        const list = typeof images === 'string' ? [images] : images;
        if (list === undefined || list === null) return [];
        if (!Array.isArray(list) || list.some((p) => typeof p !== 'string' || p.trim() === ''))
          throw new RowProblem('missing-image', '`images` must be a list of file paths');
        return (list as string[]).map((p) => ({ kind: 'path', path: p.trim() }));
      },
    };
  } catch (e) {
    if (!(e instanceof RowProblem)) throw e;
    return { row, index, problem: e };
  }
}

/** A JSON array or JSONL file's items and problems. */
export function readBenchJson(source: string, format: 'json' | 'jsonl'): BenchRead {
  if (format === 'jsonl') {
    const rows = source.split('\n').flatMap((line, n) => {
      if (line.trim() === '') return [];
      try {
        return [jsonRow(JSON.parse(line), n + 1)];
      } catch (e) {
        return [
          { row: n + 1, index: null, problem: new RowProblem('malformed-row', `not JSON: ${(e as Error).message}`) },
        ];
      }
    });
    return collect(rows);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (e) {
    return {
      items: [],
      problems: [{ index: 'file', row: 1, reason: 'malformed-row', message: `not JSON: ${(e as Error).message}` }],
    };
  }
  if (!Array.isArray(parsed))
    return {
      items: [],
      problems: [{ index: 'file', row: 1, reason: 'malformed-row', message: 'the file is not a JSON array of items' }],
    };
  return collect(parsed.map((v, n) => jsonRow(v, n + 1)));
}
