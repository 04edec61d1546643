// Review actions kept in the project with undo and redo (migration 170), bulk
// review of a filter with its count preview, and the Thresholds page's reads:
// attention curves whose kept count at a threshold is what selection keeps,
// and the preview of the decisions a selection run would change.
import type { Database } from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../electron/db/project.schema';
import { decide, reselect } from '../../../electron/pipeline/select/decide';
import { attentionCurves, previewSelection } from '../../../electron/pipeline/select/preview';
import { PIPELINE_QUERIES as q } from '../../../electron/pipeline/store/queries';
import { openDatabase } from '../../../electron/store/database';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import type { PairFilter } from '../../../shared/pipeline/commands';
import type { SelectionSettings } from '../../../shared/pipeline/settings';
import { keptAt, keptTotal } from '../../../shared/pipeline/thresholds';
import { writeSyntheticPairs, type SyntheticPair } from '../../helpers/synthetic-pairs';

const N = 3000;
let dir: string;
let db: Database;
let rows: SyntheticPair[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'review-undo-'));
  const file = path.join(dir, 'p.sqlite');
  rows = writeSyntheticPairs(file, N, 9);
  db = openDatabase(file, { migrations: MIGRATIONS }).db;
});

afterAll(() => {
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every pair's review state and texts, by id. */
function snapshot(): Map<number, string> {
  const all = db.prepare('SELECT id, review, chosen, rejected FROM pairs ORDER BY id').all() as {
    id: number;
    review: string;
    chosen: string;
    rejected: string;
  }[];
  return new Map(all.map((r) => [r.id, `${r.review}|${r.chosen}|${r.rejected}`]));
}

const count = (filter: PairFilter) =>
  q.pairsPage(db, { offset: 0, limit: 1, filter, sort: { by: 'id', dir: 'asc' } }).total;

describe('review undo and redo', () => {
  it('undoes and redoes single actions in order, in the pair, its facets and its history', () => {
    const id = rows.find((r) => r.review === 'pending')!.id;
    const start = snapshot();
    const original = db.prepare('SELECT chosen, rejected FROM pairs WHERE id = ?').get(id) as {
      chosen: string;
      rejected: string;
    };
    expect(q.reviewPair(db, { pairId: id, action: 'accept' })).toBe(true);
    // Accepting an accepted pair changes nothing and is not an undo step.
    expect(q.reviewPair(db, { pairId: id, action: 'accept' })).toBe(false);
    expect(q.reviewPair(db, { pairId: id, action: 'edit', chosen: original.rejected, rejected: original.chosen })).toBe(
      true,
    );
    expect(q.reviewPair(db, { pairId: id, action: 'reject' })).toBe(true);
    const after = snapshot();
    expect(after.get(id)).toBe(`rejected|${original.rejected}|${original.chosen}`);

    expect(q.reviewUndoState(db).undo).toMatchObject({ action: 'reject', label: `reject pair ${id}`, pairIds: [id] });
    expect(q.undoReview(db)?.action).toBe('reject');
    expect(count({ review: ['accepted'], text: original.chosen.split(' ')[0] })).toBeGreaterThan(0);
    expect(q.undoReview(db)?.action).toBe('edit');
    expect(snapshot().get(id)).toBe(`accepted|${original.chosen}|${original.rejected}`);
    expect(q.undoReview(db)?.action).toBe('accept');
    expect(snapshot()).toEqual(start);
    expect(q.reviewUndoState(db).redo?.action).toBe('accept');

    expect(q.redoReview(db)?.action).toBe('accept');
    expect(q.redoReview(db)?.action).toBe('edit');
    expect(q.redoReview(db)?.action).toBe('reject');
    expect(q.redoReview(db)).toBeNull();
    expect(snapshot()).toEqual(after);
    expect(
      q
        .pairHistory(db, { pairId: id })
        .map((h) => h.action)
        .slice(1),
    ).toEqual(['accept', 'edit', 'reject', 'undo', 'undo', 'undo', 'redo', 'redo', 'redo']);

    // A new action after an undo drops the redo stack.
    q.undoReview(db);
    expect(q.reviewPair(db, { pairId: id, action: 'edit', chosen: original.chosen, rejected: original.rejected })).toBe(
      true,
    );
    expect(q.reviewUndoState(db).redo).toBeNull();
    expect(snapshot().get(id)).toBe(`accepted|${original.chosen}|${original.rejected}`);
  });

  it('bulk-reviews a filter as one action, with a count preview, and undoes it exactly', () => {
    const filter: PairFilter = { format: ['grid'], decision: ['keep'] };
    const expected = rows.filter((r) => r.format === 'grid' && r.decision === 'keep').length;
    const before = snapshot();
    const notRejected = count({ ...filter, review: ['pending', 'accepted'] });
    expect(count(filter)).toBe(expected);
    const preview = q.reviewMany(db, { filter, action: 'reject', dryRun: true });
    expect(preview).toEqual({ count: notRejected, op: null });
    expect(snapshot()).toEqual(before);

    const done = q.reviewMany(db, { filter, action: 'reject', dryRun: false });
    expect(done.count).toBe(notRejected);
    expect(done.op).toMatchObject({ action: 'reject', pairs: notRejected, label: `reject ${notRejected} pairs` });
    expect(count({ ...filter, review: ['rejected'] })).toBe(expected);
    expect(q.reviewMany(db, { filter, action: 'reject', dryRun: true }).count).toBe(0);

    expect(q.undoReview(db)?.pairs).toBe(notRejected);
    expect(snapshot()).toEqual(before);
    expect(count({ ...filter, review: ['rejected'] })).toBe(expected - notRejected);
    q.redoReview(db);
    expect(count({ ...filter, review: ['rejected'] })).toBe(expected);
    q.undoReview(db);
    expect(snapshot()).toEqual(before);
  });
});

describe('threshold curves and selection preview', () => {
  const loose: SelectionSettings = {
    ...DEFAULT_SETTINGS.selection,
    post: { ...DEFAULT_SETTINGS.selection.post, perplexity: { kind: 'maxprob', min: 0.5, max: null } },
  };

  it('keeps at any threshold exactly what selection keeps', () => {
    const all = q.generationMetrics(db);
    const curves = attentionCurves(all, loose);
    expect(curves.reduce((s, c) => s + c.total, 0)).toBe(all.length);
    const keptBy = (s: SelectionSettings) => reselect(all, s).filter((m) => m === 0).length;
    expect(keptTotal(curves)).toBe(keptBy(loose));
    for (const value of [0, 0.05, 0.3, 0.55, 0.95, 1]) {
      const grid4 = { ...loose.thresholds.grid, '4': { op: '<' as const, value } };
      const moved = { ...loose, thresholds: { ...loose.thresholds, grid: grid4 } };
      expect(keptTotal(curves, { format: 'grid', imageCount: 4, value })).toBe(keptBy(moved));
    }
  });

  it('parses the metrics once until a generation is added', () => {
    const first = q.generationMetrics(db);
    q.reviewPair(db, { pairId: rows[5]!.id, action: 'reject' });
    expect(q.generationMetrics(db)).toBe(first);
    const metrics = { ...first[0]!, attentionRatio: 0.123 };
    q.insertGeneration(db, {
      augmentedId: 1,
      jobId: null,
      model: 'again',
      settings: {},
      response: 'r',
      tokenCount: 1,
      metrics,
      attentionMaps: null,
      timing: null,
    });
    const after = q.generationMetrics(db);
    expect(after).toHaveLength(first.length + 1);
    expect(after.at(-1)!.attentionRatio).toBe(0.123);
    db.prepare('DELETE FROM generations WHERE id = ?').run(Number(after.at(-1)!.id));
    expect(q.generationMetrics(db)).toHaveLength(first.length);
  });

  it('counts values below and at a threshold by its comparison', () => {
    expect(keptAt([0.1, 0.2, 0.2, 0.3], '<', 0.2)).toBe(1);
    expect(keptAt([0.1, 0.2, 0.2, 0.3], '<=', 0.2)).toBe(3);
    expect(keptAt([], '<', 1)).toBe(0);
    expect(keptAt([0.1], '<=', 5)).toBe(1);
  });

  it('previews the decisions a selection run would change, and none after that run', () => {
    const all = q.generationMetrics(db);
    const preview = previewSelection(all, q.storedDecisions(db), loose, 5);
    const stored = new Map(q.storedDecisions(db).map((d) => [d.generationId, d.decision]));
    const flips = all.filter((m) => stored.get(Number(m.id)) !== decide(m, loose).decision);
    expect(preview.toKeep + preview.toDrop).toBe(flips.length);
    expect(preview.examples).toHaveLength(5);
    for (const e of preview.examples)
      expect(e.after).toBe(
        decide(
          all.find((m) => Number(m.id) === e.generationId)!,
          loose,
        ).decision,
      );

    q.saveDecisions(db, {
      decisions: all.map((m) => ({ generationId: Number(m.id), decision: decide(m, loose) })),
    });
    const again = previewSelection(all, q.storedDecisions(db), loose, 5);
    expect(again).toMatchObject({ toKeep: 0, toDrop: 0, examples: [], kept: preview.kept });
  });
});
