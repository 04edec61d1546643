// Crash safety of training: `mia-dpo train` in a child process (real DpoTrainer,
// tiny random model, dropout on) is SIGKILLed at random moments: while it opens
// the project, scores the reference, trains, writes a checkpoint or exports the
// adapter. After every kill the project database passes integrity_check and every
// checkpoint folder under a step name is complete (its manifest lists files of
// the recorded sizes); rerunning the same command continues, and each run that
// completes ends with exactly the adapter bytes of an uninterrupted run.
import { openAfterKill } from '../helpers/kill-campaign';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_WEIGHTS } from '../../electron/engine/models/peft';
import { trainFixture, type TrainFixture } from '../unit/pipeline/train/fixture';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'train-crash.child.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** Kills in the CI form; TRAIN_CRASH_KILLS raises it for a longer soak. */
const KILLS = Number(process.env.TRAIN_CRASH_KILLS ?? 10);

let fx: TrainFixture;

beforeAll(async () => {
  fx = await trainFixture();
}, 60_000);

/** Runs the child; with `killAfterMs` it is SIGKILLed that long after it starts (unless it ended before). */
function runChild(out: string, killAfterMs: number | null): Promise<{ killed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', TSX, CHILD, fx.modelDir, fx.pairsFile, out], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(fx.dir, 'config') },
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = killAfterMs === null ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const ms = Date.now() - started;
      if (signal === 'SIGKILL') resolve({ killed: true, ms });
      else if (code === 0) resolve({ killed: false, ms });
      else reject(new Error(`child failed (${code}): ${err}`));
    });
  });
}

/** What must hold after any kill: a sound database, and no torn folder under a checkpoint's name. */
function checkConsistent(out: string): void {
  const db = path.join(out, 'project', 'project.sqlite');
  if (existsSync(db)) {
    const conn = openAfterKill(db);
    try {
      expect(conn.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      conn.close();
    }
  }
  const root = path.join(out, 'checkpoints');
  if (!existsSync(root)) return;
  for (const name of readdirSync(root).filter((n) => /^step-\d+$/.test(n))) {
    const dir = path.join(root, name);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
      files: { name: string; bytes: number }[];
    };
    for (const f of manifest.files) expect(statSync(path.join(dir, f.name)).size, `${name}/${f.name}`).toBe(f.bytes);
  }
}

describe('train under SIGKILL', () => {
  it(`${KILLS} kills at random moments: every completed rerun ends with the uninterrupted adapter`, async () => {
    const clean = path.join(fx.dir, 'clean');
    const first = await runChild(clean, null);
    expect(first.killed).toBe(false);
    const expected = readFileSync(path.join(clean, ADAPTER_WEIGHTS));

    // Two runs, each killed KILLS / 2 times and then left to finish.
    for (const round of [0, 1]) {
      const out = path.join(fx.dir, `crashed-${round}`);
      let kills = 0;
      while (kills < Math.ceil(KILLS / 2)) {
        // Anywhere from start-up to the end of a whole run (a rerun with less left to do may finish first).
        const run = await runChild(out, Math.random() * first.ms * 1.1);
        checkConsistent(out);
        if (run.killed) kills++;
        else expect(readFileSync(path.join(out, ADAPTER_WEIGHTS)).equals(expected), `round ${round}`).toBe(true);
      }
      expect((await runChild(out, null)).killed).toBe(false);
      checkConsistent(out);
      expect(readFileSync(path.join(out, ADAPTER_WEIGHTS)).equals(expected), `round ${round}`).toBe(true);
    }
  }, 600_000);
});
