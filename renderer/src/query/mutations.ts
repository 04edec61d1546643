// The commands that change server state from the UI, as mutations that put
// their answer in the cache: opening or closing a project drops the previous
// project's data; a job action stores the job it returns. What a job later
// changes arrives through events (events.ts).
import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import type { Channel, ImportSource, Job, ProjectInfo, RequestIn, Response } from '../../../shared/api';
import { useApi } from '../api-context';
import { queryKeys } from './keys';

function projectChanged(queryClient: QueryClient, project: ProjectInfo | null): void {
  queryClient.removeQueries({ queryKey: queryKeys.openProject });
  queryClient.setQueryData(queryKeys.projectInfo, { project });
  void queryClient.invalidateQueries({ queryKey: queryKeys.recentProjects });
}

export function useCreateProject() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: RequestIn<'project.create'>) => client.invoke('project.create', request),
    meta: { clearsError: true },
    onSuccess: (project) => projectChanged(queryClient, project),
  });
}

export function useOpenProject() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (dir: string) => client.invoke('project.open', { dir }),
    meta: { clearsError: true },
    onSuccess: (project) => projectChanged(queryClient, project),
    // A recent project that failed to open (moved, deleted) shows up as missing in the list.
    onError: () => void queryClient.invalidateQueries({ queryKey: queryKeys.recentProjects }),
  });
}

/** Drops a folder from the recent list (the project itself is left alone). */
export function useRemoveRecent() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (dir: string) => client.invoke('project.recent.remove', { dir }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.recentProjects }),
  });
}

export function useCloseProject() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => client.invoke('project.close', {}),
    onSuccess: () => projectChanged(queryClient, null),
  });
}

/** Starts an import; resolves with its job id (the dialog then follows the job). */
export function useImport() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: { source: ImportSource; abortOnProblem: boolean }) =>
      client.invoke('dataset.import', request),
    meta: { inline: true },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.jobList }),
  });
}

export type JobAction = 'cancel' | 'pause' | 'resume';

export function useJobAction() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: number; action: JobAction }): Promise<Job> =>
      client.invoke(`jobs.${action}`, { id }),
    onSuccess: (job) => {
      queryClient.setQueryData(queryKeys.job(job.id), job);
      void queryClient.invalidateQueries({ queryKey: queryKeys.jobList });
    },
  });
}

/**
 * A command a form sends (start a stage, export): its error shows in that form (`inline`), and a job it starts
 * appears in the jobs list at once. `then` runs after success, e.g. to refetch what the command changed.
 */
export function useCommand<C extends Channel>(channel: C, changes: readonly (readonly unknown[])[] = []) {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: RequestIn<C>): Promise<Response<C>> => client.invoke(channel, request),
    meta: { inline: true },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.jobList });
      for (const queryKey of changes) void queryClient.invalidateQueries({ queryKey });
    },
  });
}
