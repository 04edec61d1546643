// The job state machine: which user actions apply in which state. The runner
// and the property tests both use this table, so they cannot disagree.
import type { JobState } from '../../shared/api';

export type JobAction = 'pause' | 'resume' | 'cancel';

/** Allowed user actions per state. A running job is paused/cancelled when its unit stops (ctx.signal) or ends. */
export const ACTIONS: Record<JobState, readonly JobAction[]> = {
  queued: ['pause', 'cancel'],
  running: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
  done: [],
  failed: [],
  cancelled: [],
};

/** Transitions the runner itself makes (start, finish, fail, pause/cancel at a boundary). */
export const NEXT_STATES: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'paused', 'cancelled'],
  running: ['paused', 'done', 'failed', 'cancelled'],
  paused: ['queued', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export function isAllowed(state: JobState, action: JobAction): boolean {
  return ACTIONS[state].includes(action);
}
