// Events pushed from the engine side to every listener (UI, CLI progress bar):
// one discriminated union on `type`, validated like commands.
import { z } from 'zod';
import { TrainStepMetrics } from '../pipeline/train';
import { Id, JobProgress, JobState, Timestamp, WireError } from './domain';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const ApiEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job.progress'), jobId: Id, progress: JobProgress }),
  z.object({ type: z.literal('job.state'), jobId: Id, kind: z.string(), state: JobState, error: WireError.nullable() }),
  /** One optimizer step of a train job, as stored (train.metrics returns the same). */
  z.object({ type: z.literal('train.step'), jobId: Id, runId: Id, metrics: TrainStepMetrics }),
  z.object({
    type: z.literal('log'),
    level: z.enum(LOG_LEVELS),
    message: z.string(),
    jobId: Id.nullable(),
    at: Timestamp,
  }),
]);
export type ApiEvent = z.infer<typeof ApiEvent>;
export type ApiEventType = ApiEvent['type'];
export type EventOf<T extends ApiEventType> = Extract<ApiEvent, { type: T }>;

export type EventListener = (event: ApiEvent) => void;

/** Anything events can be subscribed to; returns the unsubscribe function. */
export interface EventSource {
  onEvent(listener: EventListener): () => void;
}
