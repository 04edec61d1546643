// A project database with many synthetic preference pairs, written through the
// pipeline's own store queries (augmented samples, generations with metrics,
// selection decisions, reviews and edits), so the derived review tables are
// filled by their triggers. Returns what was written, as plain JS rows, for
// oracles (test/unit/pipeline/pairs-oracle.test.ts) and the pairs benchmark.
import type { Database } from 'better-sqlite3';
import { PIPELINE_QUERIES as q, type AugmentedRow } from '../../electron/pipeline/store/queries';
import { openDatabase } from '../../electron/store/database';
import { MIGRATIONS } from '../../electron/db/project.schema';
import type { Format } from '../../shared/pipeline/formats';
import { CHECKS, type Check, type GenerationMetrics } from '../../shared/pipeline/types';

export interface SyntheticPair {
  id: number;
  format: Format;
  imageCount: number;
  decision: 'keep' | 'drop' | null;
  failed: Check[];
  review: 'pending' | 'accepted' | 'rejected';
  prompt: string;
  chosen: string;
  rejected: string;
  /** PairView field -> value; null where the stored metric is missing or not finite. */
  values: Record<
    | 'attention_ratio'
    | 'exact_ratio'
    | 'ppl_maxprob'
    | 'ppl_true'
    | 'length_ratio'
    | 'edit_distance'
    | 'edit_distance_tokens',
    number | null
  >;
}

/** Short words, a few of them common, so searches match many rows and few alike. */
export const VOCABULARY = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}x`).concat([
  'red',
  'circle',
  'square',
  'blue',
  'dog',
  'dogs',
  'kitchen',
]);

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const sentence = (r: () => number, n: number) =>
  Array.from({ length: n }, () => VOCABULARY[Math.floor(r() ** 3 * VOCABULARY.length)]!).join(' ');
/** Coarse values so that sorts meet ties; sometimes missing or not finite (stored as null). */
const value = (r: () => number, scale: number, missing: number): number =>
  r() < missing ? (r() < 0.5 ? NaN : Infinity) : Math.round(r() * scale * 20) / 20;

const COUNTS: Record<Format, number[]> = { sequence: [2, 3, 4, 5], grid: [2, 3, 4, 6, 9], pip: [2] };
const FORMAT_LIST: Format[] = ['sequence', 'sequence', 'grid', 'pip'];

/** Fills a new project database at `file` with `n` pairs; deterministic for a seed. */
export function writeSyntheticPairs(file: string, n: number, seed = 1): SyntheticPair[] {
  const { db } = openDatabase(file, { create: true, migrations: MIGRATIONS });
  try {
    return db.transaction(() => fill(db, n, rng(seed)))();
  } finally {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
  }
}

function fill(db: Database, n: number, r: () => number): SyntheticPair[] {
  db.prepare(
    "INSERT INTO jobs (id, kind, label, state, params, created_at, updated_at) VALUES (1, 'import', 'synthetic', 'done', '{}', 0, 0)",
  ).run();
  db.prepare(
    "INSERT INTO sources (id, kind, path, images_root, import_job_id, imported_at) VALUES (1, 'llava', '/s.json', '/img', 1, 0)",
  ).run();
  const image = db.prepare('INSERT INTO images (id, path, sha256, width, height, bytes) VALUES (?, ?, ?, 64, 64, 100)');
  for (let i = 1; i <= 20; i++) image.run(i, `/img/${i}.jpg`, i.toString(16).padStart(64, '0'));
  db.prepare(
    `INSERT INTO samples (id, source_id, external_id, entry_index, image_id, image_count, question, answer, conversation)
     VALUES (1, 1, 's1', 0, 1, 1, 'q', 'a', '[]')`,
  ).run();

  const rows: SyntheticPair[] = [];
  const augmented: AugmentedRow[] = [];
  const generations: { generationId: number; metrics: GenerationMetrics; response: string }[] = [];
  for (let i = 0; i < n; i++) {
    const format = pick(r, FORMAT_LIST);
    const imageCount = pick(r, COUNTS[format]);
    // Sequence and grid: one id per image (a grid's tiles); pip: [host, inset].
    const imageIds = Array.from({ length: imageCount }, (_, k) => 1 + ((i + k) % 20));
    const prompt = `${format === 'grid' ? '<image>\n' : 'Image1:<image>\n'}In Image1, ${sentence(r, 6)}?`;
    const groundTruth = sentence(r, 8);
    const response = sentence(r, 8);
    augmented.push({
      planId: String(i),
      sourceSampleId: 1,
      format,
      imageIds,
      targetIndex: 1,
      compositePath: format === 'sequence' ? null : `/cache/${i}.png`,
      provenance: null,
      conversation: [],
      prompt,
      groundTruth,
    });
    const augmentedId = i + 1;
    const metrics: GenerationMetrics = {
      id: String(augmentedId),
      format,
      imageCount,
      targetIndex: 1,
      attentionRatio: value(r, 1, 0.01),
      exactRatio: r() < 0.3 ? null : value(r, 1, 0),
      perImageMean: null,
      pplMaxProb: value(r, 3, 0.02),
      pplTrue: value(r, 5, 0.02),
      groundTruthChars: 40,
      responseChars: 40,
      responseBlank: false,
      groundTruthBlank: false,
      identical: false,
      lengthRatio: value(r, 2, 0.02),
      editDistanceChars: Math.floor(r() * 60),
      editDistanceTokens: r() < 0.4 ? null : Math.floor(r() * 20),
    };
    generations.push({ generationId: augmentedId, metrics, response });
    const finite = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
    rows.push({
      id: 0,
      format,
      imageCount,
      decision: 'keep',
      failed: [],
      review: 'pending',
      prompt,
      chosen: groundTruth,
      rejected: response,
      values: {
        attention_ratio: finite(metrics.attentionRatio),
        exact_ratio: finite(metrics.exactRatio),
        ppl_maxprob: finite(metrics.pplMaxProb),
        ppl_true: finite(metrics.pplTrue),
        length_ratio: finite(metrics.lengthRatio),
        edit_distance: finite(metrics.editDistanceChars),
        edit_distance_tokens: finite(metrics.editDistanceTokens),
      },
    });
  }
  q.insertAugmented(db, { jobId: 1, rows: augmented });
  for (const g of generations) {
    q.insertGeneration(db, {
      augmentedId: g.generationId,
      jobId: null,
      model: 'synthetic',
      settings: {},
      response: g.response,
      tokenCount: 8,
      metrics: g.metrics,
      attentionMaps: null,
      timing: null,
    });
  }
  // Selection keeps everything (so every generation gets a pair), then a second selection drops some.
  const keep = { decision: 'keep' as const, reasons: ['kept'], failed: [] };
  q.saveDecisions(db, { decisions: generations.map((g) => ({ generationId: g.generationId, decision: keep })) });
  const pairIds = db.prepare('SELECT id FROM pairs ORDER BY generation_id').pluck().all() as number[];
  const redecided: {
    generationId: number;
    decision: { decision: 'keep' | 'drop'; reasons: string[]; failed: Check[] };
  }[] = [];
  for (const [k, row] of rows.entries()) {
    row.id = pairIds[k]!;
    if (r() < 0.4) {
      const failed = CHECKS.filter(() => r() < 0.25);
      row.decision = failed.length === 0 ? 'keep' : 'drop';
      row.failed = failed;
      redecided.push({
        generationId: generations[k]!.generationId,
        decision: { decision: row.decision, reasons: failed.map((c) => `${c} failed`), failed },
      });
    }
  }
  q.saveDecisions(db, { decisions: redecided });
  // Some generations lose their decision (undecided), and people review and edit some pairs.
  const forget = db.prepare('DELETE FROM decisions WHERE generation_id = ?');
  for (const [k, row] of rows.entries()) {
    if (r() < 0.05) {
      forget.run(generations[k]!.generationId);
      row.decision = null;
      row.failed = [];
    }
    const action = r();
    if (action < 0.1) {
      row.rejected = sentence(r, 5);
      q.reviewPair(db, { pairId: row.id, action: 'edit', rejected: row.rejected });
    }
    if (action < 0.2) {
      row.review = 'accepted';
      q.reviewPair(db, { pairId: row.id, action: 'accept' });
    } else if (action < 0.3) {
      row.review = 'rejected';
      q.reviewPair(db, { pairId: row.id, action: 'reject' });
    }
  }
  return rows;
}
