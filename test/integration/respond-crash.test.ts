// Crash safety of the respond job: `mia-dpo respond` in a child process is
// SIGKILLed at random points. After each kill the database passes
// integrity_check, holds exactly the committed samples (no sample the child
// reported is missing, at most the one in flight is lost), and the resumed run
// ends with the same stored generations as an uninterrupted one.
import { openAfterKill } from '../helpers/kill-campaign';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { respondFixture } from '../unit/pipeline/respond/fixture';
import { runKilledAt } from '../helpers/kill-child';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'respond-crash.child.ts');
const KILLS = 3;

const runChild = (dir: string, model: string, home: string, killAt: number | null) =>
  runKilledAt(CHILD, [dir, model], home, killAt);

function inspect(dir: string): {
  integrity: string;
  generations: number;
  distinct: number;
  cursorDone: number;
  digest: string;
} {
  const db = openAfterKill(path.join(dir, 'project.sqlite'));
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const cursors = db.prepare("SELECT cursor FROM jobs WHERE kind = 'respond'").pluck().all() as (string | null)[];
    const rows = db
      .prepare(
        'SELECT augmented_id, model, settings, response, token_count, metrics, hex(token_ids) AS t, hex(attention_maps) AS m, attention_side FROM generations ORDER BY augmented_id',
      )
      .all();
    return {
      integrity,
      generations: rows.length,
      distinct: db.prepare('SELECT count(DISTINCT augmented_id) FROM generations').pluck().get() as number,
      cursorDone: cursors.reduce((s, c) => s + (c ? (JSON.parse(c) as { done: number }).done : 0), 0),
      digest: JSON.stringify(rows),
    };
  } finally {
    db.close();
  }
}

describe('respond job under SIGKILL', () => {
  it('loses at most the sample in flight and resumes to the uninterrupted result', async () => {
    const fx = await respondFixture(3, 9);
    await fx.service.close();
    const total = 9;
    const clean = path.join(fx.dir, 'clean');
    const crashed = path.join(fx.dir, 'crashed');
    cpSync(fx.projectDir, clean, { recursive: true });
    cpSync(fx.projectDir, crashed, { recursive: true });

    expect(await runChild(clean, fx.modelDir, fx.dir, null)).toEqual({ killed: false, reported: total });
    const expected = inspect(clean);
    expect(expected).toMatchObject({ integrity: 'ok', generations: total, distinct: total });

    let kills = 0;
    let committed = 0;
    while (kills < KILLS && committed < total - 1) {
      const killAt = committed + 1 + Math.floor(Math.random() * Math.min(3, total - committed - 1));
      const run = await runChild(crashed, fx.modelDir, fx.dir, killAt);
      const now = inspect(crashed);
      expect(now.integrity).toBe('ok');
      expect(now.distinct).toBe(now.generations);
      expect(now.cursorDone).toBe(now.generations);
      // Every sample the child saw committed is there; beyond that at most the one whose commit raced the kill.
      expect(now.generations).toBeGreaterThanOrEqual(run.reported);
      expect(now.generations).toBeLessThanOrEqual(run.reported + 1);
      committed = now.generations;
      if (run.killed) kills++;
      else break;
    }
    expect(kills).toBeGreaterThan(0);

    expect((await runChild(crashed, fx.modelDir, fx.dir, null)).killed).toBe(false);
    const resumed = inspect(crashed);
    expect(resumed).toMatchObject({ integrity: 'ok', generations: total, distinct: total, cursorDone: total });
    expect(resumed.digest).toBe(expected.digest);
  }, 90_000);
});
