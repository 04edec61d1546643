// The pipeline's schema and queries on a real SQLite file: migration 100 on
// top of an older project, re-selection that keeps a person's pair edits,
// the pair history, and the derived review tables of migration 140.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../electron/pipeline/select/decide';
import { PIPELINE_QUERIES } from '../../../electron/pipeline/store/queries';
import { openDatabase } from '../../../electron/store/database';
import { MIGRATIONS } from '../../../electron/db/project.schema';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import type { PairFilter } from '../../../shared/pipeline/commands';
import { metrics } from './metrics';

const q = PIPELINE_QUERIES;
const allPairs = (db: Database, filter: PairFilter = {}) =>
  q.pairsPage(db, { offset: 0, limit: 500, filter, sort: { by: 'id', dir: 'asc' } });

function projectDb(): Database {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pipeline-store-')), 'p.sqlite');
  // An older project (before the pipeline), then opened by this version.
  openDatabase(file, { create: true, migrations: MIGRATIONS.filter((m) => m.version < 100) }).db.close();
  const { db, version } = openDatabase(file, { migrations: MIGRATIONS });
  expect(version).toBe(MIGRATIONS.at(-1)!.version);
  return db;
}

function seed(db: Database): { generationId: number } {
  const now = Date.now();
  db.prepare(
    "INSERT INTO jobs (id, kind, label, state, params, created_at, updated_at) VALUES (1, 'import', 'i', 'done', '{}', ?, ?)",
  ).run(now, now);
  db.prepare(
    "INSERT INTO sources (id, kind, path, images_root, import_job_id, imported_at) VALUES (1, 'llava', '/d.json', '/img', 1, ?)",
  ).run(now);
  db.prepare(
    "INSERT INTO images (id, path, sha256, width, height, bytes) VALUES (1, '/img/a.jpg', 'aa', 10, 10, 100), (2, '/img/b.jpg', 'bb', 10, 10, 100)",
  ).run();
  const conv = JSON.stringify([
    { from: 'human', value: '<image>\nWhat?' },
    { from: 'gpt', value: 'A cat.' },
  ]);
  db.prepare(
    "INSERT INTO samples (id, source_id, external_id, entry_index, image_id, image_count, question, answer, conversation) VALUES (1, 1, 's1', 0, 1, 1, 'What?', 'A cat.', ?)",
  ).run(conv);
  q.insertAugmented(db, {
    jobId: 1,
    rows: [
      {
        planId: '0-0',
        sourceSampleId: 1,
        format: 'sequence',
        imageIds: [2, 1],
        targetIndex: 2,
        compositePath: null,
        provenance: null,
        conversation: [],
        prompt: 'Image1:<image>\nImage2:<image>\nIn Image2, what?',
        groundTruth: 'A cat.',
      },
    ],
  });
  // The same unit committed again after a crash adds nothing.
  expect(
    q.insertAugmented(db, {
      jobId: 1,
      rows: [
        {
          planId: '0-0',
          sourceSampleId: 1,
          format: 'sequence',
          imageIds: [2, 1],
          targetIndex: 2,
          compositePath: null,
          provenance: null,
          conversation: [],
          prompt: 'x',
          groundTruth: 'y',
        },
      ],
    }),
  ).toBe(0);
  const m = metrics({ attentionRatio: 0.5, targetIndex: 2 });
  const generationId = q.insertGeneration(db, {
    augmentedId: 1,
    jobId: null,
    model: 'm',
    settings: {},
    response: 'A dog.',
    tokenCount: 3,
    metrics: m,
    attentionMaps: null,
    timing: null,
  });
  return { generationId };
}

describe('pipeline store', () => {
  it('lists sources, augmented samples with prompt images, and stored metrics', () => {
    const db = projectDb();
    const { generationId } = seed(db);
    expect(q.pipelineSources(db).map((s) => [s.sampleId, s.path, s.sha256])).toEqual([[1, '/img/a.jpg', 'aa']]);
    expect(q.sampleConversations(db, { ids: [1, 7] })[1]).toHaveLength(2);
    expect(q.augmentedSamples(db, { offset: 0, limit: 10 })[0]!.promptImages).toEqual(['/img/b.jpg', '/img/a.jpg']);
    expect(q.generationMetrics(db).map((m) => m.id)).toEqual([String(generationId)]);
    db.close();
  });

  it('re-selection keeps pairs and their edits; history records every action', () => {
    const db = projectDb();
    const { generationId } = seed(db);
    const [m] = q.generationMetrics(db);
    const keep = decide(m!, DEFAULT_SETTINGS.selection);
    expect(q.saveDecisions(db, { decisions: [{ generationId, decision: keep }] })).toEqual({ kept: 1, newPairs: 1 });
    const [pair] = allPairs(db).items;
    const images = [
      { kind: 'image', id: 2 },
      { kind: 'image', id: 1 },
    ];
    expect(pair).toMatchObject({ chosen: 'A cat.', rejected: 'A dog.', decision: 'keep', review: 'pending', images });
    expect(q.reviewPair(db, { pairId: pair!.id, action: 'edit', rejected: 'A small dog.' })).toBe(true);
    expect(q.reviewPair(db, { pairId: pair!.id, action: 'accept' })).toBe(true);
    expect(q.reviewPair(db, { pairId: 999, action: 'accept' })).toBe(false);

    // A stricter threshold drops it; a looser one keeps it again, with the edit intact and no second pair.
    const strict = {
      ...DEFAULT_SETTINGS.selection,
      thresholds: {
        ...DEFAULT_SETTINGS.selection.thresholds,
        sequence: { ...DEFAULT_SETTINGS.selection.thresholds.sequence, '2': { op: '<=' as const, value: 0.1 } },
      },
    };
    q.saveDecisions(db, { decisions: [{ generationId, decision: decide(m!, strict) }] });
    expect(allPairs(db).items[0]).toMatchObject({ decision: 'drop', failed: ['attention'] });
    expect(allPairs(db, { failed: 'attention', decision: ['drop'] }).total).toBe(1);
    expect(q.saveDecisions(db, { decisions: [{ generationId, decision: keep }] })).toEqual({ kept: 1, newPairs: 0 });
    expect(allPairs(db).total).toBe(1);
    expect(allPairs(db).items[0]).toMatchObject({ rejected: 'A small dog.', review: 'accepted', decision: 'keep' });
    // The derived filter columns and text index follow the decision, the review and the edit.
    expect(allPairs(db, { failed: 'attention' }).total).toBe(0);
    expect(
      allPairs(db, { review: ['accepted'], decision: ['keep'], format: ['sequence'], imageCount: [2] }).total,
    ).toBe(1);
    expect(allPairs(db, { text: 'small' }).total).toBe(1);
    expect(allPairs(db, { text: 'cat' }).total).toBe(1);
    expect(allPairs(db, { text: 'Image2 what' }).total).toBe(1);
    expect(allPairs(db, { text: 'dogs' }).total).toBe(0);
    expect(q.pairHistory(db, { pairId: pair!.id }).map((h) => [h.action, h.rejected])).toEqual([
      ['create', 'A dog.'],
      ['edit', 'A small dog.'],
      ['accept', 'A small dog.'],
    ]);
    db.close();
  });

  it('indexes the pairs of a project made before migration 140, and details a pair with history and attention', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pipeline-store-')), 'p.sqlite');
    const old = openDatabase(file, { create: true, migrations: MIGRATIONS.filter((m) => m.version < 140) }).db;
    const { generationId } = seed(old);
    const [m] = q.generationMetrics(old);
    q.saveDecisions(old, { decisions: [{ generationId, decision: decide(m!, DEFAULT_SETTINGS.selection) }] });
    // Two 2x2 maps, as the respond job stores them (float32, concatenated).
    const maps = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer);
    old.prepare('UPDATE generations SET attention_maps = ?, attention_side = 2 WHERE id = ?').run(maps, generationId);
    old.close();

    const { db } = openDatabase(file, { migrations: MIGRATIONS });
    expect(allPairs(db, { decision: ['keep'], text: 'dog' }).total).toBe(1);
    const [pair] = allPairs(db).items;
    expect(pair).toMatchObject({ attention_ratio: 0.5, ppl_maxprob: 1.5, edit_distance: 20, decision: 'keep' });
    q.reviewPair(db, { pairId: pair!.id, action: 'reject' });
    const detail = q.pairDetail(db, { id: pair!.id });
    expect(detail?.pair.review).toBe('rejected');
    expect(detail?.history.map((h) => h.action)).toEqual(['create', 'reject']);
    expect(detail?.attention).toEqual({
      side: 2,
      per_image_mean: null,
      maps: [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
    });
    expect(q.pairDetail(db, { id: 999 })).toBeNull();
    expect(q.pairsForExport(db)).toEqual([]);
    db.close();
  });
});
