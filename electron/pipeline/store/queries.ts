// The pipeline's store queries (tables of migration 100), spread into the
// store's QUERIES table so they run on the store worker's one connection:
// augmentation sources and results, generations, decisions and pairs (the
// review page's queries are in ./pairs).
import type { Database } from 'better-sqlite3';
import type { JobResult } from '../../../shared/api';
import type { Format } from '../../../shared/pipeline/formats';
import type { CompositeProvenance, Decision, GenerationMetrics, Turn } from '../../../shared/pipeline/types';
import { parseJsonColumn, parseNullableJsonColumn } from '../../store/json-column';
import type { QueryTable } from '../../store/table';
import { ConversationColumn, ImageIdsColumn, MetricsColumn, ProvenanceColumn } from './columns';
import { OVERVIEW_QUERIES } from './overview';
import { PAIR_QUERIES } from './pairs';
import { REVIEW_LOG_QUERIES } from './review-log';

export interface PipelineSource {
  sampleId: number;
  imageId: number;
  path: string;
  sha256: string;
}

/**
 * Single-image samples without problems, in id order: what augmentation plans
 * from. Conversations are left out (665k of them would not fit comfortably in
 * memory); `sampleConversations` reads those of one unit.
 */
export function pipelineSources(db: Database): PipelineSource[] {
  return db
    .prepare(
      `SELECT s.id AS sampleId, i.id AS imageId, i.path, i.sha256
       FROM samples s JOIN images i ON i.id = s.image_id
       WHERE s.image_count = 1 AND s.has_problems = 0 ORDER BY s.id`,
    )
    .all() as PipelineSource[];
}

export function sampleConversations(db: Database, a: { ids: number[] }): Record<number, Turn[]> {
  const get = db.prepare('SELECT conversation FROM samples WHERE id = ?').pluck();
  const out: Record<number, Turn[]> = {};
  for (const id of a.ids) {
    const raw = get.get(id) as string | undefined;
    if (raw !== undefined)
      out[id] = parseJsonColumn(ConversationColumn, raw, { table: 'samples', row: id, column: 'conversation' });
  }
  return out;
}

export interface AugmentedRow {
  planId: string;
  sourceSampleId: number;
  format: Format;
  imageIds: number[];
  targetIndex: number;
  compositePath: string | null;
  provenance: CompositeProvenance | null;
  conversation: Turn[];
  prompt: string;
  groundTruth: string;
}

/** One augmentation unit's rows; a re-run unit after a crash is ignored by plan id. */
export function insertAugmented(db: Database, a: { jobId: number; rows: AugmentedRow[] }): number {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO augmented_samples (job_id, plan_id, source_sample_id, format, image_count, target_index, image_ids,
       composite_path, provenance, conversation, prompt, ground_truth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = Date.now();
  let n = 0;
  for (const r of a.rows) {
    n += insert.run(
      a.jobId,
      r.planId,
      r.sourceSampleId,
      r.format,
      r.imageIds.length,
      r.targetIndex,
      JSON.stringify(r.imageIds),
      r.compositePath,
      r.provenance ? JSON.stringify(r.provenance) : null,
      JSON.stringify(r.conversation),
      r.prompt,
      r.groundTruth,
      now,
    ).changes;
  }
  return n;
}

/** The augment job's result: samples it stored, and the sources its plan kept out of grid and pic-in-pic or skipped (decision 0105). */
export function augmentSummary(
  db: Database,
  a: { jobId: number } & Omit<JobResult<'augment'>, 'samples'>,
): JobResult<'augment'> {
  const samples = db.prepare('SELECT count(*) FROM augmented_samples WHERE job_id = ?').pluck().get(a.jobId) as number;
  return { samples, keptOutOfComposites: a.keptOutOfComposites, skipped: a.skipped };
}

export function augmentedCounts(db: Database): { format: Format; imageCount: number; count: number }[] {
  return db
    .prepare(
      'SELECT format, image_count AS imageCount, count(*) AS count FROM augmented_samples GROUP BY format, image_count ORDER BY format, image_count',
    )
    .all() as {
    format: Format;
    imageCount: number;
    count: number;
  }[];
}

export interface AugmentedSample extends AugmentedRow {
  id: number;
  /** Paths of the images the prompt shows, in `<image>` order (the composite for grid and pip). */
  promptImages: string[];
}

/** In id order; `afterId` pages by key (the respond job's cursor), `offset` by position. */
export function augmentedSamples(
  db: Database,
  a: { offset: number; limit: number; afterId?: number },
): AugmentedSample[] {
  const rows = db
    .prepare('SELECT * FROM augmented_samples WHERE id > ? ORDER BY id LIMIT ? OFFSET ?')
    .all(a.afterId ?? 0, a.limit, a.offset) as Record<string, unknown>[];
  const imagePath = db.prepare('SELECT path FROM images WHERE id = ?').pluck();
  return rows.map((r) => {
    const at = (column: string) => ({ table: 'augmented_samples', row: r.id as number, column });
    const imageIds = parseJsonColumn(ImageIdsColumn, r.image_ids as string, at('image_ids'));
    const compositePath = r.composite_path as string | null;
    return {
      id: r.id as number,
      planId: r.plan_id as string,
      sourceSampleId: r.source_sample_id as number,
      format: r.format as Format,
      imageIds,
      targetIndex: r.target_index as number,
      compositePath,
      provenance: parseNullableJsonColumn(ProvenanceColumn, r.provenance as string | null, at('provenance')),
      conversation: parseJsonColumn(ConversationColumn, r.conversation as string, at('conversation')),
      prompt: r.prompt as string,
      groundTruth: r.ground_truth as string,
      promptImages: compositePath !== null ? [compositePath] : imageIds.map((id) => imagePath.get(id) as string),
    };
  });
}

/** Stores one generation with its precomputed selection metrics (the respond job's unit write). */
export function insertGeneration(
  db: Database,
  a: {
    augmentedId: number;
    jobId: number | null;
    model: string;
    settings: unknown;
    response: string;
    tokenCount: number;
    metrics: GenerationMetrics;
    attentionMaps: Uint8Array | null;
    timing: unknown;
  },
): number {
  const info = db
    .prepare(
      'INSERT INTO generations (augmented_id, job_id, model, settings, response, token_count, metrics, attention_maps, timing, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    .run(
      a.augmentedId,
      a.jobId,
      a.model,
      JSON.stringify(a.settings),
      a.response,
      a.tokenCount,
      JSON.stringify(a.metrics),
      a.attentionMaps,
      JSON.stringify(a.timing ?? null),
      Date.now(),
    );
  return Number(info.lastInsertRowid);
}

/** Every generation's stored metrics, in id order; `metrics.id` is the generation id. */
/**
 * Parsed metrics per connection, valid while the generations are: they are only
 * ever inserted (and deleted with their sample), so their count and id range
 * change with every write to them, and data_version with another connection's
 * commit. Reviews and selections leave the cache alone: the Thresholds page
 * reads stats and curves again after each selection run without parsing 100k
 * JSON columns again (seconds at 100k generations).
 */
const metricsCache = new WeakMap<Database, { key: string; rows: readonly GenerationMetrics[] }>();

/** Every generation's metrics in id order; the array is shared between calls, so callers must not change it. */
export function generationMetrics(db: Database): GenerationMetrics[] {
  const shape = db.prepare('SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM generations').get() as object;
  const key = `${JSON.stringify(shape)}/${db.pragma('data_version', { simple: true }) as number}`;
  const cached = metricsCache.get(db);
  if (cached?.key === key) return cached.rows as GenerationMetrics[];
  const rows = db.prepare('SELECT id, metrics FROM generations ORDER BY id').all() as { id: number; metrics: string }[];
  const parsed = rows.map((r) => ({
    ...parseJsonColumn(MetricsColumn, r.metrics, { table: 'generations', row: r.id, column: 'metrics' }),
    id: String(r.id),
  }));
  metricsCache.set(db, { key, rows: parsed });
  return parsed;
}

/** Every generation's stored decision (null: undecided) and pair id (null: never kept), in generation id order. */
export function storedDecisions(
  db: Database,
): { generationId: number; decision: 'keep' | 'drop' | null; pairId: number | null }[] {
  return db
    .prepare(
      `SELECT g.id AS generationId, d.decision AS decision, p.id AS pairId FROM generations g
       LEFT JOIN decisions d ON d.generation_id = g.id LEFT JOIN pairs p ON p.generation_id = g.id ORDER BY g.id`,
    )
    .all() as { generationId: number; decision: 'keep' | 'drop' | null; pairId: number | null }[];
}

/**
 * Replaces the decisions; a kept generation gets a pair (chosen = ground
 * truth, rejected = response) unless it has one, so a person's edits survive
 * re-selection. Pairs of generations now dropped stay, hidden by their decision.
 */
export function saveDecisions(
  db: Database,
  a: { decisions: { generationId: number; decision: Decision }[] },
): { kept: number; newPairs: number } {
  const now = Date.now();
  const upsert = db.prepare(
    `INSERT INTO decisions (generation_id, decision, failed, reasons, decided_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(generation_id) DO UPDATE SET decision = excluded.decision, failed = excluded.failed, reasons = excluded.reasons, decided_at = excluded.decided_at`,
  );
  const newPair = db.prepare(
    `INSERT OR IGNORE INTO pairs (generation_id, chosen, rejected, updated_at)
     SELECT g.id, a.ground_truth, g.response, ? FROM generations g JOIN augmented_samples a ON a.id = g.augmented_id WHERE g.id = ?`,
  );
  const history = db.prepare(
    `INSERT INTO pair_history (pair_id, action, chosen, rejected, at) SELECT id, 'create', chosen, rejected, ? FROM pairs WHERE generation_id = ?`,
  );
  return db.transaction(() => {
    let kept = 0;
    let newPairs = 0;
    for (const { generationId, decision } of a.decisions) {
      upsert.run(
        generationId,
        decision.decision,
        JSON.stringify(decision.failed),
        JSON.stringify(decision.reasons),
        now,
      );
      if (decision.decision !== 'keep') continue;
      kept++;
      if (newPair.run(now, generationId).changes > 0) {
        newPairs++;
        history.run(now, generationId);
      }
    }
    return { kept, newPairs };
  })();
}

export const PIPELINE_QUERIES = {
  pipelineSources,
  sampleConversations,
  insertAugmented,
  augmentSummary,
  augmentedCounts,
  augmentedSamples,
  insertGeneration,
  generationMetrics,
  storedDecisions,
  saveDecisions,
  ...REVIEW_LOG_QUERIES,
  ...PAIR_QUERIES,
  ...OVERVIEW_QUERIES,
} satisfies QueryTable;
export type PipelineQueries = typeof PIPELINE_QUERIES;
