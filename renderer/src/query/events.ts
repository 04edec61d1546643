// Keeps the query cache current from the API event stream: progress events
// patch the cached job in place, state events refetch the job, and a job
// that finished refetches the data its kind changed (an import: samples,
// sources, problems and the project's counts). Pages that show new data add
// its keys to CHANGED_BY.
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import { JOB_RESULTS, type ApiEvent, type Job, type JobKindName, type Response } from '../../../shared/api';
import { useApiEvents } from '../hooks/useApiEvents';
import { queryKeys } from './keys';

/** The queries whose data a finished job of each kind changed. */
const CHANGED_BY = {
  import: [queryKeys.samples, queryKeys.sources, queryKeys.problems, queryKeys.projectInfo, queryKeys.pipelineOverview],
  augment: [queryKeys.pipelineOverview, queryKeys.augmented],
  respond: [queryKeys.pipelineOverview],
  select: [queryKeys.pipelineOverview, queryKeys.pairs, queryKeys.selection],
  eval: [queryKeys.eval],
  train: [queryKeys.train],
  'train-reference': [],
  'model-merge': [],
  figures: [],
} satisfies Record<JobKindName, readonly QueryKey[]>;

function isJobKindName(kind: string): kind is JobKindName {
  return Object.hasOwn(JOB_RESULTS, kind);
}

export function applyApiEvent(queryClient: QueryClient, event: ApiEvent): void {
  if (event.type === 'job.progress') {
    const { jobId, progress } = event;
    queryClient.setQueryData<Job>(queryKeys.job(jobId), (job) => job && { ...job, progress });
    queryClient.setQueryData<Response<'jobs.list'>>(
      queryKeys.jobList,
      (list) => list && { jobs: list.jobs.map((j) => (j.id === jobId ? { ...j, progress } : j)) },
    );
  } else if (event.type === 'train.step') {
    // A live plot's data grows by the step (kept in step order, a repeated step replaced); the run's step count and
    // checkpoints are reread.
    const { runId, metrics } = event;
    queryClient.setQueryData<Response<'train.metrics'>>(
      queryKeys.trainMetrics(runId),
      (data) => data && { steps: [...data.steps.filter((s) => s.step < metrics.step), metrics] },
    );
    void queryClient.invalidateQueries({ queryKey: queryKeys.trainRuns });
    void queryClient.invalidateQueries({ queryKey: queryKeys.trainCheckpoints(runId) });
  } else if (event.type === 'job.state') {
    void queryClient.invalidateQueries({ queryKey: queryKeys.job(event.jobId) });
    void queryClient.invalidateQueries({ queryKey: queryKeys.jobList });
    if (event.state === 'done' && isJobKindName(event.kind)) {
      for (const queryKey of CHANGED_BY[event.kind]) void queryClient.invalidateQueries({ queryKey });
    }
  }
}

/** Applies every API event to the app's query cache while mounted (once, at the root). */
export function useApiEventsInCache(): void {
  const queryClient = useQueryClient();
  useApiEvents((event) => applyApiEvent(queryClient, event));
}
