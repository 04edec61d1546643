// Crash safety: a child process importing a dataset is killed with SIGKILL at
// random points (20 kills). After each kill the database passes
// integrity_check and holds exactly the committed units (cursor = staged
// entries); resuming finishes with the same result as an uninterrupted run.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeDemoDataset, type DemoDataset } from '../../electron/io/demo-dataset';
import { createProject } from '../../electron/db';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash.child.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHAINS = 4;
const KILLS_PER_CHAIN = 5;

/** Runs the child; with `killAfterMs` it is SIGKILLed that long after it reports running. Resolves with whether it finished. */
function runChild(dir: string, ds: DemoDataset, killAfterMs: number | null): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, dir, ds.file, ds.imagesRoot]);
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAfterMs !== null && out.includes('running')) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(false);
      else if (code === 0) resolve(out.includes('finished'));
      else reject(new Error(`child failed (${code}): ${err}`));
    });
  });
}

function inspect(dir: string): {
  integrity: string;
  state: string | null;
  cursor: number;
  staged: number;
  digest: string;
} {
  const db = new Database(path.join(dir, 'project.sqlite'));
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const job = db.prepare('SELECT state, cursor FROM jobs WHERE id = 1').get() as
      { state: string; cursor: string | null } | undefined;
    const staged = db.prepare('SELECT count(*) FROM import_entries').pluck().get() as number;
    const samples = db
      .prepare(
        `SELECT s.external_id, s.entry_index, s.question, s.answer, s.has_problems, s.image_count,
          (SELECT group_concat(i.sha256) FROM sample_images si JOIN images i ON i.id = si.image_id WHERE si.sample_id = s.id) AS images
         FROM samples s ORDER BY s.entry_index`,
      )
      .all();
    const problems = db
      .prepare('SELECT entry_index, entry_id, reason, message FROM problems ORDER BY entry_index, id')
      .all();
    return {
      integrity,
      state: job?.state ?? null,
      cursor: job?.cursor ? (JSON.parse(job.cursor) as { index: number }).index : 0,
      staged,
      digest: JSON.stringify({ samples, problems }),
    };
  } finally {
    db.close();
  }
}

describe('SIGKILL during an import', () => {
  it('loses no committed unit and resumes to the same result as an uninterrupted run', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'crash-'));
    const ds = await makeDemoDataset(path.join(root, 'data'), { samples: 500, images: 12 });
    const newProject = async (name: string) => {
      const dir = path.join(root, name);
      await (await createProject(dir)).close();
      return dir;
    };
    const reference = await newProject('reference');
    expect(await runChild(reference, ds, null)).toBe(true);
    const expected = inspect(reference);
    expect(expected.state).toBe('done');

    // Chains run side by side: the time goes mostly into process start-up, not CPU.
    const chain = async (c: number): Promise<number> => {
      let kills = 0;
      for (let p = 0; kills < KILLS_PER_CHAIN && p < 6; p++) {
        const dir = await newProject(`c${c}-p${p}`);
        while (kills < KILLS_PER_CHAIN) {
          const finished = await runChild(dir, ds, Math.floor(Math.random() * 250));
          const after = inspect(dir);
          expect(after.integrity).toBe('ok');
          if (finished || after.state === 'done') break;
          kills++;
          // The cursor and the staged entries commit together: equal after any kill.
          expect(after.staged).toBe(after.cursor);
        }
        expect(await runChild(dir, ds, null)).toBe(true);
        const final = inspect(dir);
        expect(final.state).toBe('done');
        expect(final.staged).toBe(0);
        expect(final.digest).toBe(expected.digest);
      }
      return kills;
    };
    const kills = (await Promise.all([...Array(CHAINS).keys()].map(chain))).reduce((a, b) => a + b, 0);
    expect(kills).toBe(CHAINS * KILLS_PER_CHAIN);
    rmSync(root, { recursive: true, force: true });
  });
});
