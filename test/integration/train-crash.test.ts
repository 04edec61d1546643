// Crash safety of training: `mia-dpo train` in a child process (real DpoTrainer,
// tiny random model, dropout on) is SIGKILLed at random moments: while it opens
// the project, scores the reference, trains, writes a checkpoint or exports the
// adapter. After every kill the project database passes integrity_check and every
// checkpoint folder under a step name is complete (its manifest lists files of
// the recorded sizes); rerunning the same command continues, and each run that
// completes ends with exactly the adapter bytes of an uninterrupted run. The
// same campaign runs on a tiny llava-hf model (10 kills over two runs) and a
// tiny InternLM-XComposer-2.5 folder (2 kills while it trains, one run).
import { openAfterKill } from '../helpers/kill-campaign';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTER_WEIGHTS } from '../../electron/engine/models/peft';
import { ixcTrainFixture, trainFixture, type TrainFixture } from '../unit/pipeline/train/fixture';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'train-crash.child.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** The longest a child may run (the slowest uninterrupted run takes a few seconds). */
const CHILD_LIMIT_MS = 120_000;
/** Kills in the CI form; TRAIN_CRASH_KILLS raises it for a longer soak. */
const KILLS = Number(process.env.TRAIN_CRASH_KILLS ?? 10);

/**
 * When to SIGKILL the child (unless it ends before): `afterMs` after it starts, or `delayMs` after its stderr (the
 * terminal progress line) first matches `seen`.
 */
type Kill = { afterMs: number } | { seen: RegExp; delayMs: number };

/** Runs the child, SIGKILLed as `kill` says (null: left to finish). */
function runChild(fx: TrainFixture, out: string, kill: Kill | null): Promise<{ killed: boolean; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', TSX, CHILD, fx.modelDir, fx.pairsFile, out], {
      env: { ...process.env, XDG_CONFIG_HOME: path.join(fx.dir, 'config') },
    });
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    const arm = (ms: number) => (timer ??= setTimeout(() => child.kill('SIGKILL'), ms));
    if (kill !== null && 'afterMs' in kill) arm(kill.afterMs);
    // A child that hangs fails the test with what it printed instead of running into the test's timeout.
    const hung = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child hung for ${CHILD_LIMIT_MS} ms; it printed:\n${err.slice(-2000)}`));
    }, CHILD_LIMIT_MS);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (kill !== null && 'seen' in kill && kill.seen.test(err)) arm(kill.delayMs);
    });
    child.on('close', (code, signal) => {
      clearTimeout(hung);
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

/**
 * A kill campaign on `fx`: an uninterrupted run, then `rounds` runs each SIGKILLed `kills` times (`when` picks the
 * moment from the uninterrupted run's time) and left to finish. Counts the kills that found a checkpoint on disk.
 */
async function campaign(
  fx: TrainFixture,
  o: { kills: number; rounds: number; when: (cleanMs: number) => Kill },
): Promise<{ kills: number; afterCheckpoint: number }> {
  let afterCheckpoint = 0;
  let total = 0;
  const clean = path.join(fx.dir, 'clean');
  const first = await runChild(fx, clean, null);
  expect(first.killed).toBe(false);
  const expected = readFileSync(path.join(clean, ADAPTER_WEIGHTS));
  for (let round = 0; round < o.rounds; round++) {
    const out = path.join(fx.dir, `crashed-${round}`);
    let kills = 0;
    while (kills < o.kills) {
      // A rerun with less left to do may finish before its kill.
      const kill = o.when(first.ms);
      const run = await runChild(fx, out, kill);
      checkConsistent(out);
      if (run.killed) {
        kills++;
        if (stepFolders(out).length > 0) afterCheckpoint++;
        continue;
      }
      expect(readFileSync(path.join(out, ADAPTER_WEIGHTS)).equals(expected), `round ${round}`).toBe(true);
      // A finished run prints no more training progress: a kill waiting for it would never come.
      if ('seen' in kill) break;
    }
    total += kills;
    expect((await runChild(fx, out, null)).killed).toBe(false);
    checkConsistent(out);
    expect(readFileSync(path.join(out, ADAPTER_WEIGHTS)).equals(expected), `round ${round}`).toBe(true);
  }
  return { kills: total, afterCheckpoint };
}

const stepFolders = (out: string): string[] => {
  const root = path.join(out, 'checkpoints');
  return existsSync(root) ? readdirSync(root).filter((n) => /^step-\d+$/.test(n)) : [];
};

describe('train under SIGKILL', () => {
  let fx: TrainFixture;
  beforeAll(async () => {
    fx = await trainFixture();
  }, 60_000);

  it(`${KILLS} kills at random moments: every completed rerun ends with the uninterrupted adapter`, async () => {
    // Two runs, each killed KILLS / 2 times anywhere from start-up to the end of a whole run, then left to finish.
    await campaign(fx, {
      kills: Math.ceil(KILLS / 2),
      rounds: 2,
      when: (ms) => ({ afterMs: Math.random() * ms * 1.1 }),
    });
  }, 600_000);
});

describe('train under SIGKILL on an InternLM-XComposer-2.5 folder', () => {
  let fx: TrainFixture & { cleanup(): void };
  beforeAll(async () => {
    fx = await ixcTrainFixture();
  }, 120_000);
  afterAll(() => fx?.cleanup());

  it('2 kills while it trains: the rerun ends with the uninterrupted adapter', async () => {
    // Once the train job has committed a step (its progress line reads 1/4 or more), within 100 ms: less than one
    // of the remaining steps takes even on a fast machine (600 ms let a CI machine finish the run before the kill).
    const { kills, afterCheckpoint } = await campaign(fx, {
      kills: 2,
      rounds: 1,
      when: () => ({ seen: /train \[[#-]+\] [1-3]\/4/, delayMs: Math.random() * 100 }),
    });
    expect(kills).toBeGreaterThanOrEqual(1);
    expect(afterCheckpoint).toBeLessThanOrEqual(kills);
  }, 300_000);
});
