// Issue 13 campaigns: `mia-dpo import` and `mia-dpo respond` SIGKILLed at seeded
// random moments, each followed by a rerun of the same command and a reopen
// through `serve`: integrity_check ok, each entry and each generation once, the
// result and the API view equal to an uninterrupted run. Quick form here (2
// trials per kind); MIA_CAMPAIGN=full runs 20 per kind:
// `MIA_CAMPAIGN=full npx vitest run test/integration/kill-campaign.test.ts`.
import type Database from 'better-sqlite3';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProject } from '../../electron/db';
import { makeDemoDataset } from '../../electron/io/demo-dataset';
import { campaignSize, openAfterKill, runKillCampaign, type ApiCall } from '../helpers/kill-campaign';
import { respondFixture } from '../unit/pipeline/respond/fixture';

const root = mkdtempSync(path.join(os.tmpdir(), 'kill-campaign-'));
const env = { XDG_CONFIG_HOME: path.join(root, 'config') };
afterAll(() => rmSync(root, { recursive: true, force: true }));
const full = process.env['MIA_CAMPAIGN'] === 'full';

function read<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = openAfterKill(path.join(dir, 'project.sqlite'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('kill campaigns', () => {
  it(
    'import: SIGKILL, rerun, reopen through serve: each entry once, equal to an uninterrupted import',
    async () => {
      const ds = await makeDemoDataset(path.join(root, 'import-data'), { samples: 600, images: 12 });
      const report = await runKillCampaign({
        name: 'import campaign',
        trials: campaignSize(2, 20),
        seed: 1301,
        env,
        async freshProject(t) {
          const dir = path.join(root, `import-${t}`);
          await (await createProject(dir)).close();
          return dir;
        },
        args: (dir) => ['import', dir, '--llava', ds.file, '--images', ds.imagesRoot, '--json'],
        // A kill after the commit leaves a finished import: the rerun refuses to import it twice.
        rerunAccepts: (run) => run.code === 1 && /was already imported, with the same content/.test(run.stderr),
        afterKill: (dir) =>
          read(dir, (db) => {
            // Staged entries and the job cursor commit together; no source exists until the final commit.
            const job = db.prepare("SELECT state, cursor FROM jobs WHERE kind = 'import'").all() as {
              state: string;
              cursor: string | null;
            }[];
            const staged = db.prepare('SELECT count(*) FROM import_entries').pluck().get() as number;
            const cursor = job[0]?.cursor ? (JSON.parse(job[0].cursor) as { index: number }).index : 0;
            if (job.length > 1) throw new Error(`${job.length} import jobs after one run`);
            if (job[0]?.state !== 'done' && staged !== cursor) throw new Error(`staged ${staged} != cursor ${cursor}`);
          }),
        digest: (dir) =>
          read(dir, (db) =>
            JSON.stringify({
              jobs: db.prepare('SELECT kind, state, done, total FROM jobs ORDER BY id').all(),
              sources: db.prepare('SELECT kind, path, images_root FROM sources ORDER BY id').all(),
              staged: db.prepare('SELECT count(*) FROM import_entries').pluck().get(),
              samples: db
                .prepare(
                  `SELECT s.external_id, s.entry_index, s.question, s.answer, s.has_problems, s.image_count,
                    (SELECT group_concat(i.sha256) FROM sample_images si JOIN images i ON i.id = si.image_id WHERE si.sample_id = s.id) AS images
                   FROM samples s ORDER BY s.entry_index`,
                )
                .all(),
              problems: db
                .prepare('SELECT entry_index, entry_id, reason, message FROM problems ORDER BY entry_index, id')
                .all(),
              fts: db.prepare('SELECT count(*) FROM samples_fts').pluck().get(),
            }),
          ),
        apiView: async (call: ApiCall) => ({
          sources: (
            (await call('sources.list')) as { sources: { sampleCount: number; problemCount: number }[] }
          ).sources.map((s) => [s.sampleCount, s.problemCount]),
          samples: ((await call('samples.page', { offset: 0, limit: 1 })) as { total: number }).total,
          search: (
            (await call('samples.page', { offset: 0, limit: 1, filter: { text: 'circle' } })) as { total: number }
          ).total,
          jobs: ((await call('jobs.list')) as { jobs: { kind: string; state: string }[] }).jobs.map((j) => [
            j.kind,
            j.state,
          ]),
        }),
      });
      expect(report.trials).toHaveLength(campaignSize(2, 20));
      // Most kill moments fall inside the run; one or two may land after it ended.
      expect(report.kills).toBeGreaterThanOrEqual(full ? 14 : 1);
    },
    full ? 1_200_000 : 120_000,
  );

  it(
    'respond: SIGKILL, rerun, reopen through serve: each generation once, equal to an uninterrupted run',
    async () => {
      const fx = await respondFixture(3, 9);
      await fx.service.close();
      const report = await runKillCampaign({
        name: 'respond campaign',
        trials: campaignSize(2, 20),
        seed: 1302,
        env,
        async freshProject(t) {
          const dir = path.join(root, `respond-${t}`);
          cpSync(fx.projectDir, dir, { recursive: true });
          return dir;
        },
        args: (dir) => ['respond', dir, '--model', fx.modelDir, '--max-new-tokens', '12', '--ep', 'cpu', '--perturb'],
        afterKill: (dir) =>
          read(dir, (db) => {
            const rows = db.prepare('SELECT count(*) FROM generations').pluck().get() as number;
            const distinct = db.prepare('SELECT count(DISTINCT augmented_id) FROM generations').pluck().get() as number;
            if (rows !== distinct) throw new Error(`${rows} generations for ${distinct} samples`);
          }),
        digest: (dir) =>
          read(dir, (db) =>
            JSON.stringify(
              db
                .prepare(
                  'SELECT augmented_id, model, settings, response, token_count, metrics, hex(token_ids) AS t, hex(attention_maps) AS m, attention_side FROM generations ORDER BY augmented_id',
                )
                .all(),
            ),
          ),
        apiView: async (call: ApiCall) => ({
          stats: await call('pipeline.stats', {}),
          unfinished: ((await call('jobs.list')) as { jobs: { state: string }[] }).jobs.filter(
            (j) => j.state === 'running' || j.state === 'queued',
          ).length,
        }),
      });
      expect(report.trials).toHaveLength(campaignSize(2, 20));
      expect(report.kills).toBeGreaterThanOrEqual(full ? 14 : 1);
      rmSync(fx.dir, { recursive: true, force: true });
    },
    full ? 1_800_000 : 180_000,
  );
});
