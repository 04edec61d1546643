// The dataset grid's data: the total for the current filter and samples
// fetched page by page as the visible range moves (usePagedList).
import type { SampleFilter, SampleSummary } from '../../../shared/api';
import { useApi } from '../api-context';
import { queryKeys } from '../query/keys';
import { usePagedList, type PagedList } from './usePagedList';

export const PAGE_SIZE = 200;

export type SamplePages = PagedList<SampleSummary>;

export function useSamplePages(filter: SampleFilter): SamplePages {
  const client = useApi();
  return usePagedList({
    identity: filter,
    pageSize: PAGE_SIZE,
    pageKey: (page) => queryKeys.samplePage(filter, page),
    fetchPage: (offset, limit) => client.invoke('samples.page', { offset, limit, filter }),
  });
}
