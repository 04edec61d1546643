// The respond job's store queries (generations table of migrations 100 and
// 130), spread into the store's QUERIES table: which augmented samples still
// lack a generation by a model, one sample's generation inputs, and the
// unit write that stores a generation with its metrics, tokens and maps.
import type { Database } from 'better-sqlite3';
import type { Format } from '../../../shared/pipeline/formats';
import type { CompositeProvenance, GenerationMetrics } from '../../../shared/pipeline/types';
import { parseJsonColumn, parseNullableJsonColumn } from '../../store/json-column';
import type { QueryTable } from '../../store/table';
import { ImageIdsColumn, MetricsColumn, ObjectColumn, ProvenanceColumn, TimingColumn } from '../store/columns';

/**
 * Augmented sample ids without a generation by `model` with this preprocessing and prompt template, in id order: the
 * same model shown padded or cropped images, or prompted in another format, answers differently (decision 0105).
 * Generations stored before a setting existed had its former default (crop; the model's template).
 */
export function pendingResponses(
  db: Database,
  a: { model: string; aspect: 'crop' | 'pad'; template: 'model' | 'llava_v0' },
): number[] {
  return db
    .prepare(
      `SELECT a.id FROM augmented_samples a WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE g.model = ? AND g.augmented_id = a.id
         AND COALESCE(json_extract(g.settings, '$.aspect'), 'crop') = ? AND COALESCE(json_extract(g.settings, '$.template'), 'model') = ?) ORDER BY a.id`,
    )
    .pluck()
    .all(a.model, a.aspect, a.template) as number[];
}

export interface RespondSample {
  id: number;
  planId: string;
  format: Format;
  imageCount: number;
  targetIndex: number;
  provenance: CompositeProvenance | null;
  prompt: string;
  groundTruth: string;
  /** Files shown to the model in `<image>` order: the sequence images, or the one composite. */
  promptImages: string[];
}

export function respondSample(db: Database, a: { id: number }): RespondSample | null {
  const r = db
    .prepare(
      'SELECT id, plan_id, format, image_count, target_index, image_ids, composite_path, provenance, prompt, ground_truth FROM augmented_samples WHERE id = ?',
    )
    .get(a.id) as Record<string, unknown> | undefined;
  if (r === undefined) return null;
  const imagePath = db.prepare('SELECT path FROM images WHERE id = ?').pluck();
  const composite = r.composite_path as string | null;
  const at = (column: string) => ({ table: 'augmented_samples', row: a.id, column });
  return {
    id: r.id as number,
    planId: r.plan_id as string,
    format: r.format as Format,
    imageCount: r.image_count as number,
    targetIndex: r.target_index as number,
    provenance: parseNullableJsonColumn(ProvenanceColumn, r.provenance as string | null, at('provenance')),
    prompt: r.prompt as string,
    groundTruth: r.ground_truth as string,
    promptImages:
      composite !== null
        ? [composite]
        : parseJsonColumn(ImageIdsColumn, r.image_ids as string, at('image_ids')).map(
            (id) => imagePath.get(id) as string,
          ),
  };
}

export interface StoredResponse {
  augmentedId: number;
  jobId: number | null;
  model: string;
  settings: unknown;
  response: string;
  tokenIds: Int32Array;
  metrics: GenerationMetrics;
  /** The per-image maps concatenated, each `attentionSide` squared float32 values. */
  attentionMaps: Float32Array;
  attentionSide: number;
  timing: unknown;
}

const bytes = (a: Int32Array | Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** One generation, the respond job's unit write (committed with the job's cursor). */
export function insertResponse(db: Database, a: StoredResponse): number {
  const info = db
    .prepare(
      `INSERT INTO generations (augmented_id, job_id, model, settings, response, token_count, metrics, attention_maps, timing, created_at, token_ids, attention_side)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      a.augmentedId,
      a.jobId,
      a.model,
      JSON.stringify(a.settings),
      a.response,
      a.tokenIds.length,
      JSON.stringify(a.metrics),
      bytes(a.attentionMaps),
      JSON.stringify(a.timing),
      Date.now(),
      bytes(a.tokenIds),
      a.attentionSide,
    );
  return Number(info.lastInsertRowid);
}

export interface GenerationRecord {
  id: number;
  augmentedId: number;
  jobId: number | null;
  model: string;
  settings: Record<string, unknown>;
  response: string;
  tokenIds: number[];
  metrics: GenerationMetrics;
  /** One row-major `side x side` map per image shown. */
  attentionMaps: Float32Array[];
  attentionSide: number | null;
  timing: Record<string, number> | null;
}

/** Stored generations with their tokens and maps decoded, in id order (for review, tests and audits). */
export function generationRecords(db: Database, a: { augmentedId?: number } = {}): GenerationRecord[] {
  const rows = (
    a.augmentedId === undefined
      ? db.prepare('SELECT * FROM generations ORDER BY id').all()
      : db.prepare('SELECT * FROM generations WHERE augmented_id = ? ORDER BY id').all(a.augmentedId)
  ) as Record<string, unknown>[];
  return rows.map((r) => {
    const side = r.attention_side as number | null;
    const blob = r.attention_maps as Buffer | null;
    const maps: Float32Array[] = [];
    if (blob && side) {
      const all = new Float32Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength));
      for (let at = 0; at < all.length; at += side * side) maps.push(all.slice(at, at + side * side));
    }
    const tokens = r.token_ids as Buffer | null;
    const at = (column: string) => ({ table: 'generations', row: r.id as number, column });
    return {
      id: r.id as number,
      augmentedId: r.augmented_id as number,
      jobId: r.job_id as number | null,
      model: r.model as string,
      settings: parseJsonColumn(ObjectColumn, r.settings as string, at('settings')),
      response: r.response as string,
      tokenIds: tokens
        ? Array.from(new Int32Array(tokens.buffer.slice(tokens.byteOffset, tokens.byteOffset + tokens.byteLength)))
        : [],
      metrics: { ...parseJsonColumn(MetricsColumn, r.metrics as string, at('metrics')), id: String(r.id) },
      attentionMaps: maps,
      attentionSide: side,
      timing: parseJsonColumn(TimingColumn, (r.timing as string | null) ?? 'null', at('timing')),
    };
  });
}

export const RESPOND_QUERIES = {
  pendingResponses,
  respondSample,
  insertResponse,
  generationRecords,
} satisfies QueryTable;
export type RespondQueries = typeof RESPOND_QUERIES;
