// Taking over a stale project lock is atomic (issue 13 item 3): several
// processes that try at the same instants to take over the same stale locks
// never end up holding one folder together.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { LOCK_FILE } from '../../../electron/store/lock';

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lock-race.child.ts');
const PROCESSES = 4;
const TRIALS = 150;

it('takes over a stale lock in exactly one of several racing processes', async () => {
  const base = mkdtempSync(path.join(os.tmpdir(), 'lock-race-'));
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  for (let i = 0; i < TRIALS; i++) {
    mkdirSync(path.join(base, `t${i}`));
    writeFileSync(path.join(base, `t${i}`, LOCK_FILE), dead);
  }
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(process.execPath, ['--import', TSX, CHILD, base, String(TRIALS)]),
  );
  const lines = children.map((child) => {
    const queue: string[] = [];
    let waiting: ((line: string) => void) | undefined;
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let n = buffered.indexOf('\n'); n >= 0; n = buffered.indexOf('\n')) {
        const line = buffered.slice(0, n);
        buffered = buffered.slice(n + 1);
        const deliver = waiting;
        waiting = undefined;
        if (deliver) deliver(line);
        else queue.push(line);
      }
    });
    return () =>
      queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise<string>((resolve) => (waiting = resolve));
  });
  try {
    expect(await Promise.all(lines.map((next) => next()))).toEqual(Array(PROCESSES).fill('ready'));
    const startAt = Date.now() + 300;
    for (const child of children) child.stdin.write(`${startAt}\n`);
    const got = (await Promise.all(lines.map((next) => next()))).map((line) => JSON.parse(line) as number[]);
    const holders = Array.from({ length: TRIALS }, (_, i) => got.filter((g) => g.includes(i)).length);
    expect(holders.filter((n) => n !== 1).length, `trials held by 0 or 2+ processes: ${JSON.stringify(holders)}`).toBe(
      0,
    );
    // No temporary or moved-aside files are left behind.
    expect(readdirSync(path.join(base, 't0'))).toEqual([LOCK_FILE]);
  } finally {
    for (const child of children) child.stdin.end();
    await Promise.all(
      children.map(
        (child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('exit', resolve))),
      ),
    );
    rmSync(base, { recursive: true, force: true });
  }
}, 30_000);
