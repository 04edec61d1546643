// The server data the pages read, one hook per command, each cached under
// its key from keys.ts. Events (events.ts) and mutations (mutations.ts)
// decide when cached data is refetched; nothing here polls.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { Job } from '../../../shared/api';
import type { Format } from '../../../shared/pipeline/formats';
import { useApi } from '../api-context';
import { queryKeys } from './keys';

export function useProjectInfo() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.projectInfo, queryFn: () => client.invoke('project.info', {}) });
}

export function useRecentProjects() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.recentProjects, queryFn: () => client.invoke('project.recent', {}) });
}

export function useSampleDetail(id: number) {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.sample(id), queryFn: () => client.invoke('samples.get', { id }) });
}

export function useSources() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.sources, queryFn: () => client.invoke('sources.list', {}) });
}

/** One page of problems; the previous page stays on screen while the next loads. */
export function useProblemPage(offset: number, limit: number) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.problemPage(offset, limit),
    queryFn: () => client.invoke('problems.list', { offset, limit }),
    placeholderData: keepPreviousData,
  });
}

export function useJobs() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.jobList, queryFn: () => client.invoke('jobs.list', {}) });
}

export function useJob(id: number) {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.job(id), queryFn: () => client.invoke('jobs.get', { id }) });
}

/** How far each pipeline stage has come (counts), refetched when a job of a stage finishes. */
export function usePipelineOverview() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.pipelineOverview, queryFn: () => client.invoke('pipeline.overview', {}) });
}

/** The project's pipeline settings (the reference defaults with the project's changes). */
export function usePipelineSettings() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.pipelineSettings, queryFn: () => client.invoke('pipeline.settings', {}) });
}

/** One page of augmented samples; the previous page stays on screen while the next loads. */
export function useAugmentedPage(format: Format | undefined, offset: number, limit: number) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.augmentedPage(format, offset, limit),
    queryFn: () => client.invoke('pipeline.augmented', { offset, limit, ...(format === undefined ? {} : { format }) }),
    placeholderData: keepPreviousData,
  });
}

/** What a model folder is, once `dir` is set (the respond form asks when the curator leaves the field). */
export function useModelInspection(dir: string) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.modelInspection(dir),
    queryFn: () => client.invoke('model.inspect', { dir }),
    enabled: dir !== '',
  });
}

/** The newest job of a kind (the one a stage card follows), or undefined when none ran yet. */
export function useLatestJob<K extends Job['kind']>(kind: K): Extract<Job, { kind: K }> | undefined {
  const jobs = useJobs().data?.jobs;
  return latestJob(jobs ?? [], kind);
}

export function latestJob<K extends Job['kind']>(jobs: readonly Job[], kind: K): Extract<Job, { kind: K }> | undefined {
  let latest: Extract<Job, { kind: K }> | undefined;
  for (const j of jobs)
    if (j.kind === kind && (latest === undefined || j.id > latest.id)) latest = j as Extract<Job, { kind: K }>;
  return latest;
}

export function useTrainRuns(enabled = true) {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.trainRuns, queryFn: () => client.invoke('train.runs', {}), enabled });
}

/** Every step of a run so far; `train.step` events append to it (query/events.ts). */
export function useTrainMetrics(runId: number | undefined) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.trainMetrics(runId ?? -1),
    queryFn: () => client.invoke('train.metrics', { runId: runId!, after: 0 }),
    enabled: runId !== undefined,
  });
}

export function useTrainCheckpoints(runId: number | undefined) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.trainCheckpoints(runId ?? -1),
    queryFn: () => client.invoke('train.checkpoints', { runId: runId! }),
    enabled: runId !== undefined,
  });
}
