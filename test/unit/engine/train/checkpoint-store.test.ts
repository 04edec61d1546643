// Training checkpoints: a written checkpoint reads back exactly (adapter,
// tensors, state) and is itself a PEFT adapter folder; a torn or damaged
// newest checkpoint (file truncated, deleted, altered, manifest gone) is
// skipped with a warning for the previous one; pruning keeps the newest
// complete ones; and a writer SIGKILLed at random moments never leaves a
// checkpoint that reads back wrong.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModel, type OpenModel } from '../../../../electron/engine/models/open';
import { ADAPTER_WEIGHTS, PeftAdapter } from '../../../../electron/engine/models/peft';
import {
  CHECKPOINTS_DIR,
  TRAINING_STATE,
  latestCheckpoint,
  pruneCheckpoints,
  stepDirName,
  writeCheckpoint,
  type LoadedCheckpoint,
  type SkippedCheckpoint,
} from '../../../../electron/engine/train/checkpoint-store';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { SETTINGS, contentFor } from './checkpoint-content';

const tmp = path.join(os.tmpdir(), `ckpt-${process.pid}`);
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'checkpoint-crash.child.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const SMALL = 1024;
let model: OpenModel;
beforeAll(async () => {
  mkdirSync(tmp, { recursive: true });
  model = await openModel((await writeTinyLlava({ vocab: 128, attention: 'gqa' }, path.join(tmp, 'base'))).dir);
});
afterAll(async () => {
  await model.checkpoint.close();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const fresh = (): string => path.join(tmp, `out${n++}`);
const stepDir = (out: string, step: number): string => path.join(out, CHECKPOINTS_DIR, stepDirName(step));

/** The checkpoint holds exactly contentFor(step). */
function expectContent(got: LoadedCheckpoint, moments: number): void {
  const want = contentFor(model, got.step, moments);
  expect(got.settings).toEqual(SETTINGS);
  expect(got.state).toEqual(want.state);
  expect([...got.lora.modules.keys()]).toEqual([...want.adapter.lora.modules.keys()]);
  for (const [k, m] of want.adapter.lora.modules) expect(got.lora.modules.get(k)).toEqual(m);
  expect(got.lora.scale).toBe(want.adapter.lora.scale);
  expect([...got.tensors.keys()].sort()).toEqual([...want.tensors.keys()].sort());
  for (const [k, t] of want.tensors) {
    expect(got.tensors.get(k)?.dims).toEqual(t.dims);
    expect(Buffer.from(got.tensors.get(k)!.data.buffer).equals(Buffer.from(t.data.buffer)), k).toBe(true);
  }
}

describe('checkpoint store', () => {
  it('writes step-NNNNNN with a hashed manifest and reads it back exactly; the folder is a PEFT adapter', async () => {
    const out = fresh();
    const manifest = await writeCheckpoint(out, contentFor(model, 42, SMALL));
    expect(manifest.dir).toBe(stepDir(out, 42));
    expect(readdirSync(path.join(out, CHECKPOINTS_DIR))).toEqual(['step-000042']);
    for (const f of manifest.files) {
      const bytes = readFileSync(path.join(manifest.dir, f.name));
      expect(f.bytes).toBe(bytes.length);
      expect(f.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
    const got = await latestCheckpoint(out, model.dir);
    expect(got?.step).toBe(42);
    expect(got?.skipped).toEqual([]);
    expectContent(got!, SMALL);
    const adapter = await PeftAdapter.load(manifest.dir, model.checkpoint);
    expect(adapter.modules.size).toBe(4);
    await adapter.close();
    expect(await latestCheckpoint(fresh(), model.dir)).toBeNull();
  });

  it.each([
    ['truncated', (f: string) => truncateSync(f, 100)],
    ['deleted', (f: string) => rmSync(f)],
    ['altered (same size)', (f: string) => writeFileSync(f, Buffer.from(readFileSync(f)).fill(7, 200, 260))],
  ] as const)(
    'a newest checkpoint with a file %s is skipped with a warning for the previous one',
    async (_n, damage) => {
      const out = fresh();
      await writeCheckpoint(out, contentFor(model, 5, SMALL));
      await writeCheckpoint(out, contentFor(model, 10, SMALL));
      damage(path.join(stepDir(out, 10), ADAPTER_WEIGHTS));
      const warnings: SkippedCheckpoint[] = [];
      const got = await latestCheckpoint(out, model.dir, { onSkip: (s) => warnings.push(s) });
      expect(got?.step).toBe(5);
      expectContent(got!, SMALL);
      expect(warnings).toEqual([{ dir: stepDir(out, 10), reason: expect.stringContaining(ADAPTER_WEIGHTS) }]);
      expect(got?.skipped).toEqual(warnings);
    },
  );

  it('with every checkpoint torn there is none, and each was reported', async () => {
    const out = fresh();
    await writeCheckpoint(out, contentFor(model, 1, SMALL));
    await writeCheckpoint(out, contentFor(model, 2, SMALL));
    rmSync(path.join(stepDir(out, 2), 'manifest.json'));
    truncateSync(path.join(stepDir(out, 1), TRAINING_STATE), 8);
    const warnings: string[] = [];
    expect(await latestCheckpoint(out, model.dir, { onSkip: (s) => warnings.push(s.reason) })).toBeNull();
    expect(warnings).toEqual([
      expect.stringMatching(/manifest\.json unreadable/),
      expect.stringMatching(/training_state/),
    ]);
  });

  it('rewriting a step replaces it; pruning keeps the newest complete ones and clears leftovers', async () => {
    const out = fresh();
    for (const step of [1, 2, 3, 4]) await writeCheckpoint(out, contentFor(model, step, SMALL));
    const again = contentFor(model, 4, SMALL);
    again.state = { ...again.state, epoch: 99 };
    await writeCheckpoint(out, again);
    expect((await latestCheckpoint(out, model.dir))?.state['epoch']).toBe(99);
    mkdirSync(path.join(out, CHECKPOINTS_DIR, '.step-000005.tmp-123-0badf00d'));
    rmSync(path.join(stepDir(out, 3), 'manifest.json'));
    await pruneCheckpoints(out, 2);
    expect(readdirSync(path.join(out, CHECKPOINTS_DIR)).sort()).toEqual(['step-000002', 'step-000004']);
  });

  it('a writer SIGKILLed at random moments never leaves a checkpoint that reads back wrong', async () => {
    const out = fresh();
    let next = 1;
    const kills = 6;
    for (let k = 0; k < kills; k++) {
      const wrote = await runChildUntilKilled(out, next, Math.random() * 400);
      const got = await latestCheckpoint(out, model.dir);
      // Every checkpoint the child reported is there; the one in flight is either complete or absent.
      if (wrote.length > 0) expect(got?.step).toBeGreaterThanOrEqual(wrote[wrote.length - 1]!);
      if (got) {
        expect(got.skipped).toEqual([]);
        expectContent(got, 1 << 18);
        next = got.step + 1;
      }
    }
    await pruneCheckpoints(out, 1);
    expect(readdirSync(path.join(out, CHECKPOINTS_DIR))).toHaveLength(1);
  });
});

/** Runs the child from `from` and SIGKILLs it `delayMs` after it is ready to write (model open). */
function runChildUntilKilled(out: string, from: number, delayMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, out, model.dir, String(from)]);
    const wrote: number[] = [];
    let err = '';
    let armed = false;
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      for (const m of text.matchAll(/wrote (\d+)/g)) wrote.push(Number(m[1]));
      if (!armed && text.includes('ready')) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(wrote);
      else reject(new Error(`child exited ${code} before the kill: ${err}`));
    });
  });
}
