// Job runner: the state machine under random start/pause/cancel/resume/restart
// sequences (fast-check), unit commits with the cursor, failure, pause and
// cancel interrupting a unit in flight, and continuation of a job a previous
// runner left 'running'.
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApiEvent, JobState } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import type { JobKind } from '../../../electron/jobs/kind';
import { JobRunner } from '../../../electron/jobs/runner';
import { NEXT_STATES } from '../../../electron/jobs/transitions';
import type { MetaQueries } from '../../../electron/store/queries';
import { createProject } from '../../../electron/db';
import type { ProjectStore } from '../../../electron/db';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sleeps `ms`, or rejects with kind 'cancelled' as soon as `signal` aborts (as the respond engine does). */
function interruptible(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(new AppError('cancelled', 'unit interrupted'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

interface CountingOptions {
  failAt?: number;
  /** Units wait on the job's signal instead of ignoring it. */
  interruptible?: boolean;
  /** The first attempt at this unit waits until its signal aborts; `started` is called when it begins. */
  hangAt?: { unit: number; started: () => void };
}

/** A job of `units` steps; each writes meta key `<job>:<unit>` so committed units can be counted. */
function countingKind(options: CountingOptions = {}): JobKind<{ units: number }, { next: number }, MetaQueries> {
  let hung = false;
  return {
    kind: 'count',
    params: z.object({ units: z.int().positive() }),
    cursor: z.object({ next: z.int().nonnegative() }),
    label: (p) => `count to ${p.units}`,
    async plan(p, ctx) {
      return {
        async runUnit(cursor) {
          const i = cursor?.next ?? 0;
          if (options.hangAt?.unit === i && !hung) {
            hung = true;
            options.hangAt.started();
            await interruptible(60_000, ctx.signal);
          }
          await (options.interruptible ? interruptible(2, ctx.signal) : sleep(2));
          if (i === options.failAt) throw new AppError('bad-input', `unit ${i} failed`);
          return {
            cursor: { next: i + 1 },
            done: i + 1,
            total: p.units,
            write: { method: 'setMeta', args: { values: { [`${ctx.jobId}:${i}`]: String(i) } } },
            finished: i + 1 === p.units,
          };
        },
        finish: async () => ({ method: 'setMeta', args: { values: { [`${ctx.jobId}:finished`]: 'yes' } } }),
        close: async () => undefined,
      };
    },
    discard: (jobId) => ({ method: 'setMeta', args: { values: { [`${jobId}:discarded`]: 'yes' } } }),
  };
}

const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function newStore(): Promise<ProjectStore> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jobs-'));
  made.push(dir);
  return createProject(path.join(dir, 'p'));
}

function unitsOf(meta: Record<string, string>, jobId: number): number[] {
  return Object.keys(meta)
    .filter((k) => k.startsWith(`${jobId}:`) && /^\d+$/.test(k.split(':')[1]!))
    .map((k) => Number(k.split(':')[1]))
    .sort((a, b) => a - b);
}

describe('job runner', () => {
  it('runs a job unit by unit to done, with progress events and the cursor saved', async () => {
    const store = await newStore();
    const events: ApiEvent[] = [];
    const runner = new JobRunner(store, [countingKind()], (e) => events.push(e));
    const job = await runner.submit('count', { units: 5 });
    await runner.idle();
    const stored = await store.call('getJob', { id: job.id });
    expect(stored?.state).toBe('done');
    expect(stored?.cursor).toEqual({ next: 5 });
    expect(unitsOf(await store.call('getMeta'), job.id)).toEqual([0, 1, 2, 3, 4]);
    expect(
      events.filter((e) => e.type === 'job.progress').map((e) => (e.type === 'job.progress' ? e.progress.done : -1)),
    ).toEqual([1, 2, 3, 4, 5]);
    expect(events.filter((e) => e.type === 'job.state').map((e) => (e.type === 'job.state' ? e.state : ''))).toEqual([
      'queued',
      'running',
      'done',
    ]);
    await store.close();
  });

  it('marks a job failed with the unit error and runs its discard write', async () => {
    const store = await newStore();
    const runner = new JobRunner(store, [countingKind({ failAt: 2 })], () => undefined);
    const job = await runner.submit('count', { units: 5 });
    await runner.idle();
    const stored = await runner.get(job.id);
    expect(stored.state).toBe('failed');
    expect(stored.error).toEqual({ kind: 'bad-input', message: 'unit 2 failed' });
    const meta = await store.call('getMeta');
    expect(unitsOf(meta, job.id)).toEqual([0, 1]);
    expect(meta[`${job.id}:discarded`]).toBe('yes');
    await store.close();
  });

  it('continues a job left running by a closed runner from its cursor', async () => {
    const store = await newStore();
    let progressed!: () => void;
    const someDone = new Promise<void>((r) => (progressed = r));
    const first = new JobRunner(store, [countingKind()], (e) => {
      if (e.type === 'job.progress') progressed();
    });
    const job = await first.submit('count', { units: 40 });
    // Closed after its first committed unit, whatever the machine's load.
    await someDone;
    await first.close();
    const halfway = await store.call('getJob', { id: job.id });
    expect(halfway?.state).toBe('running');
    const doneBefore = halfway!.progress.done;
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(40);
    const second = new JobRunner(store, [countingKind()], () => undefined);
    await second.start();
    await second.idle();
    expect((await second.get(job.id)).state).toBe('done');
    expect(unitsOf(await store.call('getMeta'), job.id)).toEqual([...Array(40).keys()]);
    await store.close();
  });

  it('fails a resumed job whose stored cursor does not match its kind, naming the row and column', async () => {
    const store = await newStore();
    const job = await store.call('insertJob', { kind: 'count', label: 'count', params: { units: 3 }, total: null });
    await store.call('commitUnit', { jobId: job.id, cursor: { next: 'one' }, done: 1, total: 3, write: null });
    await store.call('setJobState', { id: job.id, state: 'running' });
    const runner = new JobRunner(store, [countingKind()], () => undefined);
    await runner.start();
    await runner.idle();
    const failed = await runner.get(job.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({
      kind: 'bad-file',
      message: expect.stringContaining(`jobs row ${job.id}, column cursor`),
    });
    await store.close();
  });

  for (const action of ['pause', 'cancel'] as const) {
    it(`${action} interrupts the unit in flight: nothing of it is committed and the cursor stays`, async () => {
      const store = await newStore();
      let started!: () => void;
      const inFlight = new Promise<void>((r) => (started = r));
      const runner = new JobRunner(store, [countingKind({ hangAt: { unit: 2, started } })], () => undefined);
      const job = await runner.submit('count', { units: 4 });
      await inFlight;
      await runner.act(job.id, action);
      await runner.idle();
      const stopped = await store.call('getJob', { id: job.id });
      expect(stopped?.state).toBe(action === 'pause' ? 'paused' : 'cancelled');
      expect(stopped?.error).toBeNull();
      expect(stopped?.cursor).toEqual({ next: 2 });
      expect(stopped?.progress.done).toBe(2);
      const meta = await store.call('getMeta');
      expect(unitsOf(meta, job.id)).toEqual([0, 1]);
      expect(meta[`${job.id}:discarded`]).toBe(action === 'cancel' ? 'yes' : undefined);
      if (action === 'pause') {
        // Resumed, the interrupted unit runs again from the same cursor.
        await runner.act(job.id, 'resume');
        await runner.idle();
        expect((await runner.get(job.id)).state).toBe('done');
        expect(unitsOf(await store.call('getMeta'), job.id)).toEqual([0, 1, 2, 3]);
      }
      await store.close();
    });
  }

  it('resumes a job paused mid-unit while its run is still closing', async () => {
    const store = await newStore();
    let started!: () => void;
    const inFlight = new Promise<void>((r) => (started = r));
    let release!: () => void;
    const closing = new Promise<void>((r) => (release = r));
    const kind = countingKind({ hangAt: { unit: 1, started } });
    let closes = 0;
    const slowClose: typeof kind = {
      ...kind,
      async plan(p, ctx) {
        const run = await kind.plan(p, ctx);
        // Only the first run's close waits (as an engine's worker shutting down would).
        return { ...run, close: () => (closes++ === 0 ? closing : Promise.resolve()) };
      },
    };
    let paused!: () => void;
    const pausedSeen = new Promise<void>((r) => (paused = r));
    const runner = new JobRunner(store, [slowClose], (e) => {
      if (e.type === 'job.state' && e.state === 'paused') paused();
    });
    const job = await runner.submit('count', { units: 3 });
    await inFlight;
    await runner.act(job.id, 'pause');
    await pausedSeen;
    await runner.act(job.id, 'resume');
    release();
    await runner.idle();
    expect((await runner.get(job.id)).state).toBe('done');
    expect(unitsOf(await store.call('getMeta'), job.id)).toEqual([0, 1, 2]);
    await store.close();
  });

  it('fails a job whose unit rejects as cancelled when nobody asked it to stop', async () => {
    const store = await newStore();
    const kind = countingKind();
    const rogue: typeof kind = {
      ...kind,
      async plan(p, ctx) {
        const run = await kind.plan(p, ctx);
        return { ...run, runUnit: async () => Promise.reject(new AppError('cancelled', 'stopped by itself')) };
      },
    };
    const runner = new JobRunner(store, [rogue], () => undefined);
    const job = await runner.submit('count', { units: 2 });
    await runner.idle();
    expect(await runner.get(job.id)).toMatchObject({
      state: 'failed',
      error: { kind: 'cancelled', message: 'stopped by itself' },
    });
    await store.close();
  });

  it('refuses actions the state does not allow, with a conflict error', async () => {
    const store = await newStore();
    const runner = new JobRunner(store, [countingKind()], () => undefined);
    const job = await runner.submit('count', { units: 1 });
    await runner.idle();
    await expect(runner.act(job.id, 'pause')).rejects.toMatchObject({ kind: 'conflict' });
    await expect(runner.act(job.id, 'resume')).rejects.toMatchObject({ kind: 'conflict' });
    await expect(runner.act(999, 'cancel')).rejects.toMatchObject({ kind: 'not-found' });
    await expect(runner.submit('nope', {})).rejects.toMatchObject({ kind: 'unsupported' });
    await expect(runner.submit('count', { units: 0 })).rejects.toMatchObject({ kind: 'bad-input', subject: 'count' });
    await store.close();
  });

  it('keeps the state machine and unit commits consistent under random action sequences', async () => {
    const action = fc.oneof(
      fc.record({ type: fc.constant('submit' as const), units: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ type: fc.constantFrom('pause' as const, 'resume' as const, 'cancel' as const), job: fc.nat(3) }),
      fc.record({ type: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ type: fc.constant('restart' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 1, maxLength: 14 }),
        fc.boolean(),
        async (actions, honoursSignal) => {
          const store = await newStore();
          const history = new Map<number, JobState[]>();
          const units = new Map<number, number>();
          const record = (e: ApiEvent) => {
            if (e.type === 'job.state') history.set(e.jobId, [...(history.get(e.jobId) ?? []), e.state]);
          };
          let runner = new JobRunner(store, [countingKind({ interruptible: honoursSignal })], record);
          const ids: number[] = [];
          for (const a of actions) {
            if (a.type === 'submit') {
              const job = await runner.submit('count', { units: a.units });
              ids.push(job.id);
              units.set(job.id, a.units);
            } else if (a.type === 'wait') await sleep(a.ms);
            else if (a.type === 'restart') {
              await runner.close();
              runner = new JobRunner(store, [countingKind({ interruptible: honoursSignal })], record);
              await runner.start();
            } else if (ids.length > 0) {
              const id = ids[a.job % ids.length]!;
              await runner.act(id, a.type).catch((e: unknown) => expect((e as AppError).kind).toBe('conflict'));
            }
          }
          // Drain: resume what is paused, let everything finish.
          await runner.idle();
          for (const id of ids) await runner.act(id, 'resume').catch(() => undefined);
          await runner.idle();
          const meta = await store.call('getMeta');
          for (const id of ids) {
            const job = await store.call('getJob', { id });
            expect(['done', 'cancelled']).toContain(job!.state);
            const committed = unitsOf(meta, id);
            // Units are contiguous from 0 and match the cursor: nothing lost, nothing twice.
            expect(committed).toEqual([...Array(committed.length).keys()]);
            expect(job!.progress.done).toBe(committed.length);
            if (job!.state === 'done') expect(committed.length).toBe(units.get(id));
            const states = history.get(id) ?? [];
            expect(states[0]).toBe('queued');
            for (let i = 1; i < states.length; i++) expect(NEXT_STATES[states[i - 1]!]).toContain(states[i]);
          }
          await store.close();
        },
      ),
      { numRuns: 15 },
    );
  });
});
