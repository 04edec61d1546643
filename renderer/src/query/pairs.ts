// The Pairs and Thresholds pages' server data: pairs page by page (each page
// its own query, as the sample grid does), one pair's detail, the review undo
// state, and the review actions as mutations that refetch what they changed.
// Undo and redo are the project's (pipeline.pairs.undo / redo), so a reload or
// another window undoes the same actions.
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { usePagedList, type PagedList } from '../hooks/usePagedList';
import { FINAL_JOB_STATES, type RequestIn } from '../../../shared/api';
import type { PairFilter, PairSort, PairView } from '../../../shared/pipeline/commands';
import { useApi } from '../api-context';
import { queryKeys } from './keys';

export const PAIR_PAGE_SIZE = 100;
export type PairPages = PagedList<PairView>;

/** The pairs of `filter` in `sort` order, fetched a page at a time as [first, last] moves. */
export function usePairPages(filter: PairFilter, sort: PairSort): PairPages {
  const client = useApi();
  return usePagedList({
    identity: [filter, sort],
    pageSize: PAIR_PAGE_SIZE,
    pageKey: (page) => queryKeys.pairPage(filter, sort, page),
    fetchPage: (offset, limit) => client.invoke('pipeline.pairs', { offset, limit, filter, sort }),
    // A refetch after a review keeps the old rows on screen until the new ones arrive.
    keepWhileRefetching: true,
  });
}

export function usePairDetail(id: number | undefined) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.pairDetail(id ?? -1),
    queryFn: () => client.invoke('pipeline.pairs.get', { id: id! }),
    enabled: id !== undefined,
    placeholderData: (prev) => prev,
  });
}

/** Loads a pair's detail into the cache ahead of time (the next pair in focus). */
export function usePrefetchPair(): (id: number) => void {
  const client = useApi();
  const queryClient = useQueryClient();
  return useCallback(
    (id: number) =>
      void queryClient.prefetchQuery({
        queryKey: queryKeys.pairDetail(id),
        queryFn: () => client.invoke('pipeline.pairs.get', { id }),
      }),
    [client, queryClient],
  );
}

export function useUndoState() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.reviewUndo, queryFn: () => client.invoke('pipeline.pairs.undoState', {}) });
}

const refetchPairs = (queryClient: QueryClient) => queryClient.invalidateQueries({ queryKey: queryKeys.pairs });

/** One pair's accept, reject or edit (persisted at once, undoable); `inline`: its error stays in the dialog. */
export function useReviewPair(options: { inline?: boolean } = {}) {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: RequestIn<'pipeline.pairs.review'>) => client.invoke('pipeline.pairs.review', request),
    meta: { inline: options.inline === true },
    onSuccess: () => refetchPairs(queryClient),
  });
}

/** Undo (or redo) of the project's newest review action. */
export function useUndoRedo() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (which: 'undo' | 'redo') => client.invoke(`pipeline.pairs.${which}`, {}),
    onSuccess: () => refetchPairs(queryClient),
  });
}

/** Accept or reject a whole filter; errors stay in its dialog. */
export function useReviewMany() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: { filter: PairFilter; action: 'accept' | 'reject' }) =>
      client.invoke('pipeline.pairs.reviewMany', { ...request, dryRun: false }),
    meta: { inline: true },
    onSuccess: () => refetchPairs(queryClient),
  });
}

/** How many pairs of `filter` a bulk action would change (the dialog's preview). */
export function useReviewManyCount(filter: PairFilter, action: 'accept' | 'reject') {
  const client = useApi();
  return useQuery({
    queryKey: [...queryKeys.pairs, 'bulk-count', filter, action],
    queryFn: () => client.invoke('pipeline.pairs.reviewMany', { filter, action, dryRun: true }),
  });
}

export function usePipelineStats(bins: number) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.pipelineStats(bins),
    queryFn: () => client.invoke('pipeline.stats', { bins }),
  });
}

export function useSelectCurves() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.selectCurves, queryFn: () => client.invoke('pipeline.select.curves', {}) });
}

/** What a selection with `patch` would change; errors stay in the dialog. */
export function useSelectPreview() {
  const client = useApi();
  return useMutation({
    mutationFn: (patch: Record<string, unknown>) => client.invoke('pipeline.select.preview', { patch, examples: 6 }),
    meta: { inline: true },
  });
}

/** Stores `patch` and starts the selection job; its end refetches pairs and stats (events.ts). */
export function useRunSelection() {
  const client = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (patch: Record<string, unknown>) => client.invoke('pipeline.select', { patch }),
    meta: { inline: true },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.jobList });
      void queryClient.invalidateQueries({ queryKey: queryKeys.pipelineSettings });
    },
  });
}

/**
 * A job a page started and waits on (the Apply dialog's selection, a figure being saved; nothing before it starts). Its
 * state arrives through job events; while it is not final it is also read
 * again each second, so a dialog never waits forever on an event that raced
 * the first read (seen once in the e2e run on a loaded machine).
 */
export function useWatchedJob(id: number | null) {
  const client = useApi();
  return useQuery({
    queryKey: queryKeys.job(id ?? -1),
    queryFn: () => client.invoke('jobs.get', { id: id! }),
    enabled: id !== null,
    refetchInterval: (q) =>
      q.state.data === undefined || !FINAL_JOB_STATES.includes(q.state.data.state) ? 1000 : false,
  });
}
