// The state a Pipeline stage card shows, from the stage's newest job and what
// the stage has made so far: a job that is queued, running or paused speaks
// for the stage; else a failed or cancelled last run; else done when it made
// something; else ready when the stage before it has output, or waiting.
import { FINAL_JOB_STATES, type JobState } from '../../../shared/api';

export type StageState = JobState | 'ready' | 'waiting' | 'unavailable';

export interface StageInput {
  /** The newest job of the stage's kind, if the stage runs as a job. */
  job?: { state: JobState } | undefined;
  /** What the stage has made (samples, generations, pairs...). */
  made: number;
  /** Whether the stage before it has made what this one needs. */
  inputReady: boolean;
  /** False when this version has no command for the stage yet. */
  available?: boolean;
}

export function stageState({ job, made, inputReady, available = true }: StageInput): StageState {
  if (!available) return 'unavailable';
  if (job !== undefined && !FINAL_JOB_STATES.includes(job.state)) return job.state;
  if (job !== undefined && job.state !== 'done') return job.state;
  if (made > 0) return 'done';
  return inputReady ? 'ready' : 'waiting';
}

const LABELS: Record<StageState, string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
  ready: 'Ready to start',
  waiting: 'Waiting for the step before',
  unavailable: 'Not available yet',
};

export function stageStateLabel(state: StageState): string {
  return LABELS[state];
}

/** Whether a new run may start: not while one of the stage's jobs is still queued, running or paused. */
export function canStart(state: StageState): boolean {
  return state !== 'queued' && state !== 'running' && state !== 'paused' && state !== 'unavailable';
}
