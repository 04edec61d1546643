// The server data the pages read, one hook per command, each cached under
// its key from keys.ts. Events (events.ts) and mutations (mutations.ts)
// decide when cached data is refetched; nothing here polls.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
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
