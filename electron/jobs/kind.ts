// The plug-in interface of the job runner: a job kind (import, augment,
// respond, select; train later) splits its work into units, and each unit's
// result is committed together with the job's cursor. See docs/decisions/0200.
// Q is the query table a kind uses: its reads go through Store<Q> and its
// writes are Write<Q>, so a write naming a query with the wrong arguments does not compile.
import type { z } from 'zod';
import type { ApiEvent } from '../../shared/api';
import type { Store } from '../store/store';
import type { QueryTable, Write } from '../store/table';

export interface JobContext<Q extends QueryTable> {
  jobId: number;
  store: Store<Q>;
  /**
   * Aborted when the user pauses or cancels this run. A unit may pass it on (e.g. to engine.generate) and reject
   * with AppError kind 'cancelled': it then commits nothing, and the job pauses or cancels with its cursor unchanged.
   */
  signal: AbortSignal;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Streams an event of this job's own (e.g. a train step's metrics) to every listener. */
  emit(event: ApiEvent): void;
}

export interface UnitResult<C, Q extends QueryTable> {
  /** Where the next unit starts; persisted with `write` in one transaction. */
  cursor: C;
  /** Work done so far in the job's own unit of measure (entries, steps). */
  done: number;
  total: number | null;
  /** The unit's result as a named store query, or null when it only advanced the cursor. */
  write: Write<Q> | null;
  /** True when there is no more work: the runner then calls `finish`. */
  finished: boolean;
}

/** One execution of a job, from a persisted cursor (null: from the start). */
export interface JobRun<C, Q extends QueryTable> {
  runUnit(cursor: C | null): Promise<UnitResult<C, Q>>;
  /** The final write, committed with the state 'done'; its return value (an object) becomes the job's result. */
  finish(): Promise<Write<Q> | null>;
  /** Releases files and handles; called whatever the outcome. */
  close(): Promise<void>;
}

export interface JobKind<P, C, Q extends QueryTable> {
  readonly kind: string;
  /** Validates the stored params (a job may resume after an upgrade). */
  readonly params: z.ZodType<P>;
  /** Validates the stored cursor when a job resumes. */
  readonly cursor: z.ZodType<C>;
  label(params: P): string;
  /** Prepares a run. Called on first start and again after a pause or a crash. */
  plan(params: P, ctx: JobContext<Q>): Promise<JobRun<C, Q>>;
  /** Cleanup committed with 'cancelled' or 'failed' (e.g. drop staged rows), or null. */
  discard(jobId: number): Write<Q> | null;
}

/**
 * Any kind whose queries are part of the table Q, for registries: methods are bivariant
 * in their parameters, so every JobKind<P, C, Q'> with Q' a part of Q fits.
 */
export type AnyJobKind<Q extends QueryTable> = JobKind<unknown, unknown, Q>;
