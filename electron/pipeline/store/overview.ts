// The Pipeline page's counts (`pipeline.overview`) and the Dataset page's
// pages of augmented samples (`pipeline.augmented`), read in SQL: counts by
// GROUP BY, pages by id, images by id (never a path) so the UI loads them
// through the image routes.
import type { Database } from 'better-sqlite3';
import type { AugmentedView, PipelineOverview } from '../../../shared/pipeline/commands';
import type { Format } from '../../../shared/pipeline/formats';
import { parseJsonColumn } from '../../store/json-column';
import { ImageIdsColumn } from './columns';

export function pipelineOverview(db: Database): PipelineOverview {
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  const byFormat = { sequence: 0, grid: 0, pip: 0 };
  for (const r of db.prepare('SELECT format, count(*) AS n FROM augmented_samples GROUP BY format').all() as {
    format: Format;
    n: number;
  }[])
    byFormat[r.format] = r.n;
  const generations = count('SELECT count(*) FROM generations');
  const decisions = { keep: 0, drop: 0, undecided: 0 };
  for (const r of db.prepare('SELECT decision, count(*) AS n FROM decisions GROUP BY decision').all() as {
    decision: 'keep' | 'drop';
    n: number;
  }[])
    decisions[r.decision] = r.n;
  decisions.undecided = generations - decisions.keep - decisions.drop;
  const pairs = { total: 0, pending: 0, accepted: 0, rejected: 0 };
  for (const r of db.prepare('SELECT review, count(*) AS n FROM pairs GROUP BY review').all() as {
    review: 'pending' | 'accepted' | 'rejected';
    n: number;
  }[]) {
    pairs[r.review] = r.n;
    pairs.total += r.n;
  }
  return {
    samples: count('SELECT count(*) FROM samples'),
    augmented: { total: byFormat.sequence + byFormat.grid + byFormat.pip, byFormat },
    generations,
    decisions,
    pairs,
    exportable: count(
      `SELECT count(*) FROM pairs p JOIN decisions d ON d.generation_id = p.generation_id AND d.decision = 'keep'
       WHERE p.review != 'rejected'`,
    ),
  };
}

export function augmentedPage(
  db: Database,
  a: { offset: number; limit: number; format?: Format },
): { total: number; items: AugmentedView[] } {
  const where = a.format === undefined ? '' : 'WHERE format = ?';
  const args = a.format === undefined ? [] : [a.format];
  const total = db
    .prepare(`SELECT count(*) FROM augmented_samples ${where}`)
    .pluck()
    .get(...args) as number;
  const rows = db
    .prepare(
      `SELECT id, source_sample_id, format, image_count, target_index, image_ids, composite_path, prompt, ground_truth
       FROM augmented_samples ${where} ORDER BY id LIMIT ? OFFSET ?`,
    )
    .all(...args, a.limit, a.offset) as {
    id: number;
    source_sample_id: number;
    format: Format;
    image_count: number;
    target_index: number;
    image_ids: string;
    composite_path: string | null;
    prompt: string;
    ground_truth: string;
  }[];
  return {
    total,
    items: rows.map((r) => {
      const imageIds = parseJsonColumn(ImageIdsColumn, r.image_ids, {
        table: 'augmented_samples',
        row: r.id,
        column: 'image_ids',
      });
      return {
        id: r.id,
        sourceSampleId: r.source_sample_id,
        format: r.format,
        imageCount: r.image_count,
        targetIndex: r.target_index,
        prompt: r.prompt,
        groundTruth: r.ground_truth,
        images:
          r.composite_path !== null
            ? [{ kind: 'composite' as const, id: r.id }]
            : imageIds.map((id) => ({ kind: 'image' as const, id })),
        imageIds,
      };
    }),
  };
}

export const OVERVIEW_QUERIES = { pipelineOverview, augmentedPage };
