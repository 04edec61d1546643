// The pairs review queries (issue #8, item 7), spread into the pipeline's
// store queries: a page of pairs filtered, sorted and paged in SQL over the
// derived pair_facets / pairs_fts tables of migration 140, one pair with its
// history, attention and perturbed images, the pairs an export writes, and the composite and
// perturbation inputs the image routes look up by id.
// Decisions, reasons and failed checks are read from the decisions table as
// the select job stored them; nothing here decides again.
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import type {
  PairAttention,
  PairFilter,
  PairImage,
  PairSort,
  PairSortKey,
  PairView,
  SeenImage,
} from '../../../shared/pipeline/commands';
import { PairHistoryEntry } from '../../../shared/pipeline/commands';
import { FORMATS } from '../../../shared/pipeline/formats';
import { parseJsonColumn } from '../../store/json-column';
import { dataVersion, ftsQuery } from '../../store/queries/browse';
import { respondSample, type RespondSample } from '../respond/queries';
import { ChecksColumn, ImageIdsColumn, ReasonsColumn, SeenSettingsColumn, type SeenSettings } from './columns';

/** pair_facets column of each sort key: a fixed table, so no request text reaches the SQL. */
const SORT_COLUMN = {
  id: 'pair_id',
  attention_ratio: 'attention_ratio',
  exact_ratio: 'exact_ratio',
  ppl_maxprob: 'ppl_maxprob',
  ppl_true: 'ppl_true',
  length_ratio: 'length_ratio',
  edit_distance: 'edit_distance',
  edit_distance_tokens: 'edit_distance_tokens',
} satisfies Record<PairSortKey, string>;

interface Sql {
  sql: string;
  params: unknown[];
}

const marks = (n: number) => Array(n).fill('?').join(', ');

/**
 * The filter as a WHERE condition over pair_facets `f` (always a condition, `1`
 * when nothing filters). `indexed: false` hides the filter's columns from the
 * planner (unary `+`), so that it walks the sort order's index instead. With a
 * text search the planner is left only the search's ids to start from: it
 * would rather scan an equality filter's index entries (60k for "kept") than
 * look up a few thousand matches by id.
 */
export function pairWhere(filter: PairFilter, indexed = true): Sql {
  const conds: string[] = [];
  const params: unknown[] = [];
  const match = filter.text === undefined ? null : ftsQuery(filter.text);
  const col = (name: string) => `${indexed && (match === null || name === 'pair_id') ? '' : '+'}f.${name}`;
  const oneOf = (column: string, values: readonly unknown[] | undefined) => {
    if (values === undefined) return;
    conds.push(`${col(column)} IN (${marks(values.length)})`);
    params.push(...values);
  };
  oneOf('format', filter.format);
  oneOf('image_count', filter.imageCount);
  oneOf('review', filter.review);
  if (filter.decision !== undefined) {
    const decided = filter.decision.filter((d) => d !== 'undecided');
    const parts = decided.length > 0 ? [`${col('decision')} IN (${marks(decided.length)})`] : [];
    if (filter.decision.includes('undecided')) parts.push(`${col('decision')} IS NULL`);
    conds.push(`(${parts.join(' OR ')})`);
    params.push(...decided);
  }
  if (filter.failed !== undefined) {
    // `failed` is a JSON array of check names; a quoted name matches only that element.
    conds.push('instr(f.failed, ?) > 0');
    params.push(JSON.stringify(filter.failed));
  }
  if (match !== null) {
    conds.push(`${col('pair_id')} IN (SELECT rowid FROM pairs_fts WHERE pairs_fts MATCH ?)`);
    params.push(match);
  }
  return { sql: conds.length > 0 ? conds.join(' AND ') : '1', params };
}

/** Distinct counts kept per connection until the data changes: paging through one filter counts once. */
const COUNT_CACHE_SIZE = 64;
const countCaches = new WeakMap<Database, { version: string; counts: Map<string, number> }>();

/** This connection's counts at the current data version. */
function countsOf(db: Database): Map<string, number> {
  const version = dataVersion(db);
  let cache = countCaches.get(db);
  if (cache === undefined || cache.version !== version) {
    cache = { version, counts: new Map() };
    countCaches.set(db, cache);
  }
  return cache.counts;
}

const countKey = (where: Sql, table: string) => JSON.stringify([table, where.sql, where.params]);

function keepCount(counts: Map<string, number>, key: string, count: number): number {
  if (counts.size >= COUNT_CACHE_SIZE) counts.delete(counts.keys().next().value!);
  counts.set(key, count);
  return count;
}

function cachedCount(db: Database, where: Sql, table = 'pair_facets f'): number {
  const counts = countsOf(db);
  const key = countKey(where, table);
  return (
    counts.get(key) ??
    keepCount(
      counts,
      key,
      db
        .prepare(`SELECT count(*) FROM ${table} WHERE ${where.sql}`)
        .pluck()
        .get(...where.params) as number,
    )
  );
}

const and = (where: Sql, cond: string): Sql => ({ sql: `${where.sql} AND ${cond}`, params: where.params });

/** One ORDER BY term over pair_facets `f`. */
type Term = [column: string, dir: 'ASC' | 'DESC'];

const flip = (d: Term[1]): Term[1] => (d === 'ASC' ? 'DESC' : 'ASC');
const orderBy = (terms: readonly Term[]) => terms.map(([c, d]) => `${c} ${d}`).join(', ');

/**
 * One ordered slice of the `matches` rows of `part` (a condition on the sort
 * column) that pass the filter. Two plans, chosen by the counts: walk the
 * order's index, which covers the filter columns, and test each entry, finding
 * the page after about (offset + limit) * scanned / matches entries; or collect
 * the matches through the filter's indexes and sort them, about `matches` rows.
 * Without statistics SQLite always takes the second, which sorts 60k rows for
 * a filter as broad as "kept". A page in the second half is read from the other
 * end in the reverse order (the count is exact), so no walk passes more than
 * half the matches: a descending sort with ties by ascending id also re-sorts
 * each run of equal values on the way (a partial sort), which doubles a deep walk's cost.
 */
function slice(
  db: Database,
  filter: PairFilter,
  part: string,
  order: readonly Term[],
  counts: { matches: number; scanned: number },
  page: { limit: number; offset: number },
): number[] {
  if (page.offset >= counts.matches) return [];
  const limit = Math.min(page.limit, counts.matches - page.offset);
  const fromEnd = counts.matches - page.offset - limit;
  const reversed = fromEnd < page.offset;
  const offset = reversed ? fromEnd : page.offset;
  const walk = (offset + limit) * counts.scanned < counts.matches * counts.matches;
  const where = and(pairWhere(filter, !walk), part);
  const terms = reversed ? order.map(([c, d]): Term => [c, flip(d)]) : order;
  const [value, id] = terms;
  const ids =
    walk && id !== undefined && value![1] !== id[1] && offset > SEEK_AFTER
      ? seekMixed(db, where, value!, { limit, offset })
      : (db
          .prepare(`SELECT f.pair_id FROM pair_facets f WHERE ${where.sql} ORDER BY ${orderBy(terms)} LIMIT ? OFFSET ?`)
          .pluck()
          .all(...where.params, limit, offset) as number[]);
  return reversed ? ids.reverse() : ids;
}

/** Offsets past which a walk in mixed order seeks its page's first value (below it, the partial sort costs less than three queries). */
const SEEK_AFTER = 2_000;

/**
 * A walk in mixed order (`value DESC, id ASC` or the reverse): walking the
 * (value, pair_id) index in either direction gives the ids of a run of equal
 * values in the other order, so SQLite re-sorts every run it passes (4x the
 * walk's cost at 35k entries). Instead: the value at `offset` from a plain walk
 * in the value's direction, the count of matches before that value, and the
 * page from that value's run on, where only the first runs are re-sorted.
 */
function seekMixed(db: Database, where: Sql, [column, dir]: Term, page: { limit: number; offset: number }): number[] {
  const at = db
    .prepare(
      `SELECT ${column} FROM pair_facets f WHERE ${where.sql} ORDER BY ${column} ${dir}, f.pair_id ${dir} LIMIT 1 OFFSET ?`,
    )
    .pluck()
    .get(...where.params, page.offset) as number;
  const before = db
    .prepare(`SELECT count(*) FROM pair_facets f WHERE ${where.sql} AND ${column} ${dir === 'DESC' ? '>' : '<'} ?`)
    .pluck()
    .get(...where.params, at) as number;
  return db
    .prepare(
      `SELECT f.pair_id FROM pair_facets f WHERE ${where.sql} AND ${column} ${dir === 'DESC' ? '<=' : '>='} ? ` +
        `ORDER BY ${column} ${dir}, f.pair_id ${flip(dir)} LIMIT ? OFFSET ?`,
    )
    .pluck()
    .all(...where.params, at, page.limit, page.offset - before) as number[];
}

/** The most text matches a search reads whole and sorts in JS; a broader one filters and walks in SQL. */
const SEARCH_SORT_MAX = 50_000;

/**
 * A text search, not counted yet, that matches few pairs: one pass from the
 * FTS match (itself counted first, cached) joins each match's facets, tests the
 * filter and reads the sort value; the page, the total and the NULL count come
 * from those rows, and the counts are kept for the next pages, which then walk
 * or sort in SQL as any filter does. Counting in SQL first would run the
 * match and look up its rows (about 1 us a row) once for the total and again
 * for the NULLs and the page.
 */
function searchPage(
  db: Database,
  a: { offset: number; limit: number; filter: PairFilter; sort: PairSort },
): { total: number; ids: number[] } | null {
  const match = a.filter.text === undefined ? null : ftsQuery(a.filter.text);
  const totalKey = countKey(pairWhere(a.filter), 'pair_facets f');
  if (match === null || countsOf(db).has(totalKey)) return null;
  const matches = cachedCount(db, { sql: 'pairs_fts MATCH ?', params: [match] }, 'pairs_fts');
  // Every pair has one FTS row and one facets row (migration 140's triggers): a text-only total is the match's count,
  // and a page by id walks the id order testing the match.
  if (Object.values(a.filter).filter((v) => v !== undefined).length === 1) {
    keepCount(countsOf(db), totalKey, matches);
    if (a.sort.by === 'id') return null;
  }
  if (matches > SEARCH_SORT_MAX) return null;
  const where = pairWhere({ ...a.filter, text: undefined }, false);
  const column = `f.${SORT_COLUMN[a.sort.by]}`;
  const rows = db
    .prepare(
      `SELECT f.pair_id, ${column} FROM pairs_fts JOIN pair_facets f ON f.pair_id = pairs_fts.rowid WHERE pairs_fts MATCH ? AND ${where.sql}`,
    )
    .raw()
    .all(match, ...where.params) as [number, number | null][];
  const sign = a.sort.dir === 'desc' ? -1 : 1;
  rows.sort(([ia, va], [ib, vb]) => (va === vb ? ia - ib : va === null ? 1 : vb === null ? -1 : sign * (va - vb)));
  const counts = countsOf(db);
  keepCount(counts, totalKey, rows.length);
  if (a.sort.by !== 'id')
    keepCount(
      counts,
      countKey(and(pairWhere(a.filter, false), `${column} IS NULL`), 'pair_facets f'),
      rows.filter(([, v]) => v === null).length,
    );
  return { total: rows.length, ids: rows.slice(a.offset, a.offset + a.limit).map(([id]) => id) };
}

/**
 * The ids of one page in order, and the total. Values sort first, NULLs last,
 * ties by ascending id. Values and NULLs are read as two slices so that each
 * can walk the (column, pair_id, filters) index in order instead of sorting
 * every match. NULLs are counted, not values: that walks only the index's NULL
 * entries, where counting values would read every matching row.
 */
export function pairPageIds(
  db: Database,
  a: { offset: number; limit: number; filter: PairFilter; sort: PairSort },
): { total: number; ids: number[] } {
  const searched = searchPage(db, a);
  if (searched !== null) return searched;
  const total = cachedCount(db, pairWhere(a.filter));
  const all = cachedCount(db, pairWhere({}));
  const dir: Term[1] = a.sort.dir === 'desc' ? 'DESC' : 'ASC';
  if (a.sort.by === 'id')
    return { total, ids: slice(db, a.filter, '1', [['f.pair_id', dir]], { matches: total, scanned: all }, a) };
  const column = `f.${SORT_COLUMN[a.sort.by]}`;
  const isNull = `${column} IS NULL`;
  const nulls = cachedCount(db, and(pairWhere(a.filter, false), isNull));
  const allNulls = cachedCount(db, and(pairWhere({}), isNull));
  const withValue = total - nulls;
  const page = slice(
    db,
    a.filter,
    `${column} IS NOT NULL`,
    [
      [column, dir],
      ['f.pair_id', 'ASC'],
    ],
    { matches: withValue, scanned: all - allNulls },
    a,
  );
  const rest = Math.min(a.limit - page.length, total - a.offset - page.length);
  if (rest > 0) {
    page.push(
      ...slice(
        db,
        a.filter,
        isNull,
        [['f.pair_id', 'ASC']],
        { matches: nulls, scanned: allNulls },
        { limit: rest, offset: Math.max(0, a.offset - withValue) },
      ),
    );
  }
  return { total, ids: page };
}

/** The one metric a pair view reads from the generation's metrics JSON. */
const PerImageMean = z.object({ perImageMean: z.array(z.number()).nullable().optional() });

const VIEW_SQL = `SELECT p.id, p.generation_id, g.augmented_id, a.format, a.image_count, a.target_index, a.prompt, a.image_ids, a.composite_path,
    p.chosen, p.rejected, p.review, d.decision, d.failed, d.reasons, g.metrics, json_extract(g.settings, '$.aspect') AS preprocess,
    f.attention_ratio, f.exact_ratio, f.ppl_maxprob, f.ppl_true, f.length_ratio, f.edit_distance, f.edit_distance_tokens
  FROM pairs p JOIN generations g ON g.id = p.generation_id JOIN augmented_samples a ON a.id = g.augmented_id
  JOIN pair_facets f ON f.pair_id = p.id LEFT JOIN decisions d ON d.generation_id = g.id`;

interface ViewRow {
  id: number;
  /** The generation's image preprocessing (settings.aspect); null for generations that predate it. */
  preprocess: unknown;
  generation_id: number;
  augmented_id: number;
  format: string;
  image_count: number;
  target_index: number;
  prompt: string;
  image_ids: string;
  composite_path: string | null;
  chosen: string;
  rejected: string;
  review: string;
  decision: string | null;
  failed: string | null;
  reasons: string | null;
  metrics: string;
  attention_ratio: number | null;
  exact_ratio: number | null;
  ppl_maxprob: number | null;
  ppl_true: number | null;
  length_ratio: number | null;
  edit_distance: number | null;
  edit_distance_tokens: number | null;
}

/** The prompt's images by id: the composite (grid, pip) or the sequence's project images. */
function imagesOf(r: Pick<ViewRow, 'augmented_id' | 'composite_path' | 'image_ids'>): PairImage[] {
  if (r.composite_path !== null) return [{ kind: 'composite', id: r.augmented_id }];
  return parseJsonColumn(ImageIdsColumn, r.image_ids, {
    table: 'augmented_samples',
    row: r.augmented_id,
    column: 'image_ids',
  }).map((id) => ({ kind: 'image', id }));
}

// Built once: a zod schema built per row cost more than the page's SQL (~0.1 ms a row).
const FormatValue = z.enum(FORMATS);
const DecisionValue = z.enum(['keep', 'drop']);
const ReviewValue = z.enum(['pending', 'accepted', 'rejected']);

function toView(r: ViewRow): PairView {
  return {
    id: r.id,
    generation_id: r.generation_id,
    augmented_id: r.augmented_id,
    format: FormatValue.parse(r.format),
    image_count: r.image_count,
    target_index: r.target_index,
    attention_ratio: r.attention_ratio,
    exact_ratio: r.exact_ratio,
    per_image_mean:
      parseJsonColumn(PerImageMean, r.metrics, { table: 'generations', row: r.generation_id, column: 'metrics' })
        .perImageMean ?? null,
    ppl_maxprob: r.ppl_maxprob,
    ppl_true: r.ppl_true,
    length_ratio: r.length_ratio,
    edit_distance: r.edit_distance,
    edit_distance_tokens: r.edit_distance_tokens,
    decision: r.decision === null ? null : DecisionValue.parse(r.decision),
    reasons:
      r.reasons === null
        ? []
        : parseJsonColumn(ReasonsColumn, r.reasons, { table: 'decisions', row: r.generation_id, column: 'reasons' }),
    failed:
      r.failed === null
        ? []
        : parseJsonColumn(ChecksColumn, r.failed, { table: 'decisions', row: r.generation_id, column: 'failed' }),
    review: ReviewValue.parse(r.review),
    prompt: r.prompt,
    images: imagesOf(r),
    chosen: r.chosen,
    rejected: r.rejected,
    preprocess: r.preprocess === 'crop' || r.preprocess === 'pad' ? r.preprocess : null,
  };
}

/** Pairs by id, in the order given (ids that do not exist are left out). */
function viewsOf(db: Database, wanted: readonly number[]): PairView[] {
  if (wanted.length === 0) return [];
  const rows = db.prepare(`${VIEW_SQL} WHERE p.id IN (${marks(wanted.length)})`).all(...wanted) as ViewRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));
  return wanted.flatMap((id) => {
    const r = byId.get(id);
    return r === undefined ? [] : [toView(r)];
  });
}

export function pairsPage(
  db: Database,
  a: { offset: number; limit: number; filter: PairFilter; sort: PairSort },
): { total: number; items: PairView[] } {
  const page = pairPageIds(db, a);
  return { total: page.total, items: viewsOf(db, page.ids) };
}

export function pairHistory(db: Database, a: { pairId: number }): PairHistoryEntry[] {
  return z
    .array(PairHistoryEntry)
    .parse(
      db.prepare('SELECT action, at, chosen, rejected FROM pair_history WHERE pair_id = ? ORDER BY id').all(a.pairId),
    );
}

/** The generation's stored maps (float32, concatenated, `side` squared each) split per image. */
function attentionOf(db: Database, generationId: number, perImageMean: number[] | null): PairAttention {
  const row = db
    .prepare(
      "SELECT attention_maps AS maps, attention_side AS side, json_extract(settings, '$.mapCoverage') AS coverage FROM generations WHERE id = ?",
    )
    .get(generationId) as {
    maps: Buffer | null;
    side: number | null;
    coverage: string | null;
  };
  const coverage = row.coverage === null ? undefined : MapCoverage.safeParse(JSON.parse(row.coverage)).data;
  const placed = coverage ? { coverage } : {};
  if (row.maps === null || row.side === null || row.side <= 0)
    return { side: row.side, per_image_mean: perImageMean, maps: [], ...placed };
  // A copy: the blob's offset in its buffer need not be 4-aligned.
  const values = new Float32Array(new Uint8Array(row.maps).buffer, 0, Math.floor(row.maps.byteLength / 4));
  const area = row.side * row.side;
  const maps: number[][] = [];
  for (let at = 0; at + area <= values.length; at += area) maps.push(Array.from(values.subarray(at, at + area)));
  return { side: row.side, per_image_mean: perImageMean, maps, ...placed };
}

/** A generation's recorded map coverage (settings.mapCoverage, IXC2.5 generations). */
const MapCoverage = z.array(z.object({ x: z.number().positive().max(1), y: z.number().positive().max(1) }));

/** The seed and noise of a perturbed generation; null for an unknown generation or clean images. */
function seenSettings(db: Database, generationId: number): SeenSettings | null {
  const raw = db.prepare('SELECT settings FROM generations WHERE id = ?').pluck().get(generationId) as
    string | undefined;
  return raw === undefined
    ? null
    : parseJsonColumn(SeenSettingsColumn, raw, { table: 'generations', row: generationId, column: 'settings' });
}

/** The generation's images as the model saw them, one per prompt image, when noise was applied to them; none otherwise. */
function seenOf(db: Database, pair: PairView): SeenImage[] {
  if (seenSettings(db, pair.generation_id) === null) return [];
  return pair.images.map((_, index) => ({ kind: 'seen', id: pair.generation_id, index }));
}

export function pairDetail(
  db: Database,
  a: { id: number },
): { pair: PairView; history: PairHistoryEntry[]; attention: PairAttention; seen: SeenImage[] } | null {
  const [pair] = viewsOf(db, [a.id]);
  if (pair === undefined) return null;
  return {
    pair,
    history: pairHistory(db, { pairId: a.id }),
    attention: attentionOf(db, pair.generation_id, pair.per_image_mean),
    seen: seenOf(db, pair),
  };
}

/** What re-renders a perturbed generation's images: its sample's inputs, seed and noise; null for an unknown or unperturbed generation. */
export function seenSource(
  db: Database,
  a: { generationId: number },
): (SeenSettings & { sample: RespondSample }) | null {
  const settings = seenSettings(db, a.generationId);
  if (settings === null) return null;
  const augmentedId = db
    .prepare('SELECT augmented_id FROM generations WHERE id = ?')
    .pluck()
    .get(a.generationId) as number;
  const sample = respondSample(db, { id: augmentedId });
  return sample === null ? null : { ...settings, sample };
}

export interface ExportPair {
  id: number;
  prompt: string;
  chosen: string;
  rejected: string;
  /** Files in `<image>` order: the sequence's images, or the one composite. */
  images: string[];
}

/** What an export writes: pairs the stored decision keeps and no person rejected, in id order. */
export function pairsForExport(db: Database): ExportPair[] {
  const rows = db
    .prepare(
      `SELECT p.id, g.augmented_id, a.prompt, p.chosen, p.rejected, a.image_ids, a.composite_path
       FROM pairs p JOIN decisions d ON d.generation_id = p.generation_id AND d.decision = 'keep'
       JOIN generations g ON g.id = p.generation_id JOIN augmented_samples a ON a.id = g.augmented_id
       WHERE p.review != 'rejected' ORDER BY p.id`,
    )
    .all() as {
    id: number;
    augmented_id: number;
    prompt: string;
    chosen: string;
    rejected: string;
    image_ids: string;
    composite_path: string | null;
  }[];
  const imagePath = db.prepare('SELECT path FROM images WHERE id = ?').pluck();
  return rows.map((r) => ({
    id: r.id,
    prompt: r.prompt,
    chosen: r.chosen,
    rejected: r.rejected,
    images:
      r.composite_path !== null
        ? [r.composite_path]
        : parseJsonColumn(ImageIdsColumn, r.image_ids, {
            table: 'augmented_samples',
            row: r.augmented_id,
            column: 'image_ids',
          }).map((id) => imagePath.get(id) as string),
  }));
}

/** The rendered composite of an augmented sample (grid, pip), or null for an unknown id or a sequence. */
export function compositePath(db: Database, a: { augmentedId: number }): string | null {
  return (
    (db.prepare('SELECT composite_path FROM augmented_samples WHERE id = ?').pluck().get(a.augmentedId) as
      string | null | undefined) ?? null
  );
}

export const PAIR_QUERIES = {
  pairsPage,
  pairDetail,
  pairHistory,
  pairsForExport,
  compositePath,
  seenSource,
} satisfies Record<string, (db: Database, args: never) => unknown>;
