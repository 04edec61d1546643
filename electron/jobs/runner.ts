// The job runner: runs queued jobs one at a time, unit by unit, committing
// each unit with the job's cursor; pause/cancel abort the unit in flight
// (ctx.signal) or apply at the next boundary; on start continues jobs a crash
// left 'running'. Streams state and progress.
import { describeIssues, type ApiEvent, type JobProgress, type JobRecord, type WireError } from '../../shared/api';
import { AppError, toAppError } from '../../shared/errors';
import { checkColumn } from '../store/json-column';
import type { Store } from '../store/store';
import type { QueryTable } from '../store/table';
import type { AnyJobKind, JobContext, JobRun } from './kind';
import type { JobQueries, StoredJob } from './queries';
import { isAllowed, type JobAction } from './transitions';

type Stop = 'pause' | 'cancel' | 'shutdown';

/** The job being executed: the stop asked for, and the abort of its unit in flight. */
interface Active {
  id: number;
  stop: Stop | null;
  abort: AbortController;
}

interface Speed {
  since: number;
  doneAtStart: number;
}

export function toApiJob(j: StoredJob, progress?: JobProgress): JobRecord {
  const { params: _p, cursor: _c, ...job } = j;
  return progress ? { ...job, progress } : job;
}

/** Q: the project's query table, the jobs table's queries and those of every kind. */
export class JobRunner<Q extends JobQueries & QueryTable> {
  private readonly kinds = new Map<string, AnyJobKind<Q>>();
  /** The same store, seen through the queries the runner itself uses. */
  private readonly jobs: Store<JobQueries>;
  /** Jobs to run, in order; the runner takes the head. */
  private readonly queue: number[] = [];
  private active: Active | null = null;
  private loop: Promise<void> | null = null;
  private readonly speeds = new Map<number, Speed>();
  private closed = false;

  constructor(
    private readonly store: Store<Q>,
    kinds: readonly AnyJobKind<NoInfer<Q>>[],
    private readonly emit: (event: ApiEvent) => void,
  ) {
    this.jobs = store;
    for (const k of kinds) this.kinds.set(k.kind, k);
  }

  /** Queues the jobs a previous process left running (first) or queued, and starts. */
  async start(): Promise<void> {
    const jobs = await this.jobs.call('listJobs', { states: ['running', 'queued'] });
    const order = (j: StoredJob) => (j.state === 'running' ? 0 : 1);
    for (const j of [...jobs].sort((a, b) => order(a) - order(b) || a.id - b.id)) this.queue.push(j.id);
    this.pump();
  }

  /** Queues a job; `params` is validated by the kind's schema (its defaults applied). */
  async submit(kind: AnyJobKind<Q> | string, params: unknown): Promise<JobRecord> {
    const k = this.kindOf(typeof kind === 'string' ? kind : kind.kind);
    const checked = k.params.safeParse(params);
    if (!checked.success)
      throw new AppError('bad-input', `invalid parameters for a ${k.kind} job: ${describeIssues(checked.error)}`, {
        subject: k.kind,
      });
    const parsed = checked.data;
    const job = await this.jobs.call('insertJob', {
      kind: k.kind,
      label: k.label(parsed),
      params: parsed,
      total: null,
    });
    this.emitState(job);
    this.queue.push(job.id);
    this.pump();
    return toApiJob(job);
  }

  /** The oldest queued or running job of `kind` whose parameters `matches` accepts (a rerun joins it instead of duplicating it). */
  async unfinished(kind: string, matches: (params: unknown) => boolean): Promise<JobRecord | null> {
    const jobs = await this.jobs.call('listJobs', { states: ['running', 'queued'] });
    const same = jobs.filter((j) => j.kind === kind && matches(j.params)).sort((a, b) => a.id - b.id)[0];
    return same === undefined ? null : toApiJob(same, this.progressOf(same));
  }

  async get(id: number): Promise<JobRecord> {
    const job = await this.jobs.call('getJob', { id });
    if (job === null) throw new AppError('not-found', `there is no job ${id}`, { subject: `job ${id}` });
    return toApiJob(job, this.progressOf(job));
  }

  async list(): Promise<JobRecord[]> {
    const jobs = await this.jobs.call('listJobs', {});
    return jobs.map((j) => toApiJob(j, this.progressOf(j)));
  }

  async act(id: number, action: JobAction): Promise<JobRecord> {
    const job = await this.jobs.call('getJob', { id });
    if (job === null) throw new AppError('not-found', `there is no job ${id}`, { subject: `job ${id}` });
    const requested = this.active?.id === id ? this.active.stop : null;
    if (!isAllowed(job.state, action) || (requested === 'cancel' && action === 'pause')) {
      throw new AppError(
        'conflict',
        `job ${id} is ${requested === 'cancel' ? 'being cancelled' : job.state}: it cannot ${action}`,
        { subject: `job ${id}` },
      );
    }
    // A paused job may still be active while its run closes: its resume queues it like any paused job.
    if (this.active?.id === id && job.state !== 'paused') {
      // A unit that honours its signal stops now, others at the next boundary; the job.state event tells when.
      this.active.stop = action === 'resume' ? null : action;
      // The reason is what an engine's signal.throwIfAborted() throws: a 'cancelled' error, not a DOMException.
      if (action !== 'resume')
        this.active.abort.abort(
          new AppError('cancelled', `job ${id} was asked to ${action}`, { subject: `job ${id}` }),
        );
      return toApiJob(job, this.progressOf(job));
    }
    this.removeFromQueue(id);
    if (action === 'pause') return this.transition(job, 'paused');
    if (action === 'cancel') return this.endAs(job, 'cancelled', null);
    const queued = await this.transition(job, 'queued');
    this.queue.push(id);
    this.pump();
    return queued;
  }

  /** Resolves when nothing is running and nothing is queued. */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  /** Stops after the unit in flight; a running job stays 'running' so the next start continues it. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    if (this.active) this.active.stop = 'shutdown';
    await this.idle();
  }

  private kindOf(name: string): AnyJobKind<Q> {
    const k = this.kinds.get(name);
    if (k === undefined) throw new AppError('unsupported', `no job kind '${name}' in this version`, { subject: name });
    return k;
  }

  private removeFromQueue(id: number): void {
    const at = this.queue.indexOf(id);
    if (at >= 0) this.queue.splice(at, 1);
  }

  private pump(): void {
    if (this.loop || this.closed) return;
    this.loop = (async () => {
      while (!this.closed && this.queue.length > 0) {
        const id = this.queue.shift()!;
        // Active before the first await, so a pause/cancel arriving meanwhile is seen by execute.
        this.active = { id, stop: null, abort: new AbortController() };
        try {
          const job = await this.jobs.call('getJob', { id });
          if (job && (job.state === 'queued' || job.state === 'running')) await this.execute(job, this.active);
        } catch (e) {
          // Only the store itself failing gets here (execute records job errors); nobody awaits this loop.
          this.emit({
            type: 'log',
            level: 'error',
            message: `job ${id}: ${toAppError(e).message}`,
            jobId: id,
            at: Date.now(),
          });
        } finally {
          this.active = null;
        }
      }
    })().finally(() => {
      this.loop = null;
    });
  }

  private progressOf(job: StoredJob): JobProgress {
    const { done, total } = job.progress;
    const speed = this.speeds.get(job.id);
    const seconds = speed ? (Date.now() - speed.since) / 1000 : 0;
    const ratePerSec = speed && seconds > 0 ? Math.max(0, done - speed.doneAtStart) / seconds : 0;
    const etaSec = total !== null && ratePerSec > 0 ? Math.max(0, total - done) / ratePerSec : null;
    return { done, total, ratePerSec, etaSec };
  }

  private emitState(job: StoredJob): void {
    this.emit({ type: 'job.state', jobId: job.id, kind: job.kind, state: job.state, error: job.error });
  }

  private async transition(job: StoredJob, state: 'running' | 'paused' | 'queued'): Promise<JobRecord> {
    const next = await this.jobs.call('setJobState', { id: job.id, state });
    this.emitState(next);
    return toApiJob(next);
  }

  private async endAs(job: StoredJob, state: 'cancelled' | 'failed', error: WireError | null): Promise<JobRecord> {
    const write = this.kinds.get(job.kind)?.discard(job.id) ?? null;
    const next = await this.jobs.call('endJob', { jobId: job.id, state, error, write });
    this.emitState(next);
    return toApiJob(next);
  }

  private async execute(job: StoredJob, active: Active): Promise<void> {
    let run: JobRun<unknown, Q> | null = null;
    try {
      // Paused or cancelled while waiting in the queue: never start it.
      if (active.stop === 'pause' || active.stop === 'cancel') return void (await this.stopAt(job, active.stop));
      if (job.state !== 'running') await this.transition(job, 'running');
      const kind = this.kindOf(job.kind);
      const ctx: JobContext<Q> = {
        jobId: job.id,
        store: this.store,
        signal: active.abort.signal,
        log: (level, message) => this.emit({ type: 'log', level, message, jobId: job.id, at: Date.now() }),
        emit: (event) => this.emit(event),
      };
      const column = (name: string) => ({ table: 'jobs', row: job.id, column: name });
      run = await kind.plan(checkColumn(kind.params, job.params, column('params')), ctx);
      this.speeds.set(job.id, { since: Date.now(), doneAtStart: job.progress.done });
      let cursor = job.cursor === null ? null : checkColumn(kind.cursor, job.cursor, column('cursor'));
      for (;;) {
        const stop: Stop | null = active.stop;
        if (stop === 'shutdown') return;
        if (stop !== null) return void (await this.stopAt(job, stop));
        const unit = await run.runUnit(cursor);
        await this.jobs.call('commitUnit', {
          jobId: job.id,
          cursor: unit.cursor,
          done: unit.done,
          total: unit.total,
          write: unit.write,
        });
        cursor = unit.cursor;
        const progressed = { ...job, progress: { ...job.progress, done: unit.done, total: unit.total } };
        this.emit({ type: 'job.progress', jobId: job.id, progress: this.progressOf(progressed) });
        if (unit.finished) {
          const done = await this.jobs.call('finishJob', { jobId: job.id, write: await run.finish() });
          this.emitState(done);
          return;
        }
      }
    } catch (e) {
      const error = toAppError(e);
      // A unit interrupted by pause/cancel committed nothing and left the cursor: stop as asked, not a failure.
      const stop: Stop | null = active.stop;
      if (error.kind === 'cancelled' && (stop === 'pause' || stop === 'cancel'))
        return void (await this.stopAt(job, stop).catch(() => undefined));
      if (!this.closed) await this.endAs(job, 'failed', error.toJSON()).catch(() => undefined);
    } finally {
      this.speeds.delete(job.id);
      await run?.close().catch((e: unknown) =>
        this.emit({
          type: 'log',
          level: 'warn',
          message: `job ${job.id}: cleanup failed: ${toAppError(e).message}`,
          jobId: job.id,
          at: Date.now(),
        }),
      );
    }
  }

  private stopAt(job: StoredJob, stop: 'pause' | 'cancel'): Promise<JobRecord> {
    return stop === 'pause' ? this.transition(job, 'paused') : this.endAs(job, 'cancelled', null);
  }
}
