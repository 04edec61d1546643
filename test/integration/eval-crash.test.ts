// Crash safety of the eval job (issue 10): `mia-dpo eval` in a child process
// is SIGKILLed at random points. After each kill the database passes
// integrity_check and holds one run with exactly the committed items (at most
// the one in flight lost); the resumed run ends with the same per-item
// results as an uninterrupted one.
import { openAfterKill } from '../helpers/kill-campaign';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../electron/cli/run';
import { writeTinyLlava } from '../helpers/tiny-llava';
import { runKilledAt } from '../helpers/kill-child';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'eval-crash.child.ts');
const KILLS = 2;
const ITEMS = 8;

const runChild = (dir: string, model: string, home: string, killAt: number | null) =>
  runKilledAt(CHILD, [dir, model], home, killAt);

function inspect(dir: string) {
  const db = openAfterKill(path.join(dir, 'project.sqlite'));
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const rows = db
      .prepare(
        'SELECT item_id, hex(prompt_ids) AS p, response, hex(response_ids) AS r, prediction, correct, per_image_mean FROM eval_results ORDER BY item_id',
      )
      .all();
    return {
      integrity,
      runs: db.prepare('SELECT count(*) FROM eval_runs').pluck().get() as number,
      results: rows.length,
      digest: JSON.stringify(rows),
    };
  } finally {
    db.close();
  }
}

async function fixture(home: string): Promise<{ projectDir: string; modelDir: string }> {
  process.env.XDG_CONFIG_HOME = path.join(home, 'config');
  const data = path.join(home, 'data');
  mkdirSync(data, { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const file = `img${i}.png`;
    await sharp({
      create: { width: 12 + i, height: 10, channels: 3, background: { r: 30 * i, g: 200 - 20 * i, b: 90 } },
    })
      .png()
      .toFile(path.join(data, file));
    const images = i % 2 === 0 ? [file] : [file, 'img0.png'];
    lines.push(
      JSON.stringify({
        id: `q${i}`,
        question: `Question ${i}?`,
        options: ['one', 'two', 'three'],
        answer: 'B',
        images,
      }),
    );
  }
  writeFileSync(path.join(data, 'crash.jsonl'), lines.join('\n'));
  const modelDir = path.join(home, 'tiny-llava');
  await writeTinyLlava({ seed: 11, textLayers: 2, visionLayers: 2 }, modelDir);
  const projectDir = path.join(home, 'project');
  const io = { stdout: new Writable({ write: (_c, _e, done) => done() }), stderr: process.stderr, tty: false };
  expect(await runCli(['project', 'create', projectDir], io)).toBe(0);
  expect(await runCli(['bench', 'import', projectDir, path.join(data, 'crash.jsonl')], io)).toBe(0);
  return { projectDir, modelDir };
}

describe('eval job under SIGKILL', () => {
  it('loses at most the item in flight and resumes to the uninterrupted result', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'eval-crash-'));
    const { projectDir, modelDir } = await fixture(home);
    const clean = path.join(home, 'clean');
    const crashed = path.join(home, 'crashed');
    cpSync(projectDir, clean, { recursive: true });
    cpSync(projectDir, crashed, { recursive: true });

    expect(await runChild(clean, modelDir, home, null)).toEqual({ killed: false, reported: ITEMS });
    const expected = inspect(clean);
    expect(expected).toMatchObject({ integrity: 'ok', runs: 1, results: ITEMS });

    let kills = 0;
    let committed = 0;
    while (kills < KILLS && committed < ITEMS - 1) {
      const killAt = committed + 1 + Math.floor(Math.random() * Math.min(3, ITEMS - committed - 1));
      const run = await runChild(crashed, modelDir, home, killAt);
      const now = inspect(crashed);
      expect(now.integrity).toBe('ok');
      expect(now.runs).toBeLessThanOrEqual(1);
      expect(now.results).toBeGreaterThanOrEqual(run.reported);
      expect(now.results).toBeLessThanOrEqual(run.reported + 1);
      committed = now.results;
      if (run.killed) kills++;
      else break;
    }
    expect(kills).toBeGreaterThan(0);

    expect((await runChild(crashed, modelDir, home, null)).killed).toBe(false);
    const resumed = inspect(crashed);
    expect(resumed).toMatchObject({ integrity: 'ok', runs: 1, results: ITEMS });
    expect(resumed.digest).toBe(expected.digest);
  }, 120_000);
});
