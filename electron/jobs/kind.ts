// The plug-in interface of the job runner: a job kind (import now; augment,
// respond, select, train later) splits its work into units, and each unit's
// result is committed together with the job's cursor. See docs/decisions/0003.
import type { z } from 'zod';
import type { Store } from '../store/store';
import type { Write } from '../store/queries';

export interface JobContext {
  jobId: number;
  store: Store;
  /**
   * Aborted when the user pauses or cancels this run. A unit may pass it on (e.g. to engine.generate) and reject
   * with AppError kind 'cancelled': it then commits nothing, and the job pauses or cancels with its cursor unchanged.
   */
  signal: AbortSignal;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

export interface UnitResult<C> {
  /** Where the next unit starts; persisted with `write` in one transaction. */
  cursor: C;
  /** Work done so far in the job's own unit of measure (entries, steps). */
  done: number;
  total: number | null;
  /** The unit's result as a named store query, or null when it only advanced the cursor. */
  write: Write | null;
  /** True when there is no more work: the runner then calls `finish`. */
  finished: boolean;
}

/** One execution of a job, from a persisted cursor (null: from the start). */
export interface JobRun<C> {
  runUnit(cursor: C | null): Promise<UnitResult<C>>;
  /** The final write, committed with the state 'done'; its return value becomes the job's result. */
  finish(): Promise<Write | null>;
  /** Releases files and handles; called whatever the outcome. */
  close(): Promise<void>;
}

export interface JobKind<P = unknown, C = unknown> {
  readonly kind: string;
  /** Validates the stored params (a job may resume after an upgrade). */
  readonly params: z.ZodType<P>;
  label(params: P): string;
  /** Prepares a run. Called on first start and again after a pause or a crash. */
  plan(params: P, ctx: JobContext): Promise<JobRun<C>>;
  /** Cleanup committed with 'cancelled' or 'failed' (e.g. drop staged rows), or null. */
  discard(jobId: number): Write | null;
}

/** Any kind, for registries: methods are bivariant in their parameters, so every JobKind<P, C> fits. */
export type AnyJobKind = JobKind<unknown, unknown>;
