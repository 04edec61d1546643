// The dataset grid's data: the total for the current filter and samples
// fetched page by page as the visible range moves (never the whole list).
// Each page is a query of its own, so a finished import refetches the pages
// on screen in place; pages scrolled away are garbage-collected by the cache.
import { useQueries } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import type { SampleFilter, SampleSummary } from '../../../shared/api';
import { useApi } from '../api-context';
import { queryKeys } from '../query/keys';

export const PAGE_SIZE = 200;
/** How long a page scrolled out of view stays cached (memory stays bounded while scrolling 100k rows). */
const PAGE_GC_MS = 30_000;

export interface SamplePages {
  /** Undefined until the first page answers. */
  total: number | undefined;
  at(index: number): SampleSummary | undefined;
  /** Fetches the pages covering [first, last] that are not loaded yet. */
  ensureRange(first: number, last: number): void;
}

/** The pages to hold: the first (it carries the total for an empty grid too) and those covering the visible range. */
export function pagesToLoad(firstPage: number, lastPage: number): number[] {
  const pages = [0];
  for (let p = Math.max(1, firstPage); p <= lastPage; p++) pages.push(p);
  return pages;
}

export function useSamplePages(filter: SampleFilter): SamplePages {
  const client = useApi();
  const filterKey = JSON.stringify(filter);
  // The visible pages, for the filter they were measured under: a new filter starts from the top.
  const [visible, setVisible] = useState({ filterKey, first: 0, last: 0 });
  const { first, last } = visible.filterKey === filterKey ? visible : { first: 0, last: 0 };

  const wanted = pagesToLoad(first, last);
  const loaded = useQueries({
    queries: wanted.map((page) => ({
      queryKey: queryKeys.samplePage(filter, page),
      queryFn: () => client.invoke('samples.page', { offset: page * PAGE_SIZE, limit: PAGE_SIZE, filter }),
      gcTime: PAGE_GC_MS,
    })),
    combine: (results) => {
      const pages = new Map<number, SampleSummary[]>();
      let total: number | undefined;
      results.forEach((r, i) => {
        if (r.data === undefined) return;
        pages.set(wanted[i]!, r.data.items);
        total ??= r.data.total;
      });
      return { pages, total };
    },
  });

  const ensureRange = useCallback(
    (firstIndex: number, lastIndex: number) => {
      const next = {
        filterKey,
        first: Math.floor(Math.max(0, firstIndex) / PAGE_SIZE),
        last: Math.floor(Math.max(0, lastIndex) / PAGE_SIZE),
      };
      setVisible((v) => (v.filterKey === next.filterKey && v.first === next.first && v.last === next.last ? v : next));
    },
    [filterKey],
  );

  const { pages, total } = loaded;
  return { total, at: (i) => pages.get(Math.floor(i / PAGE_SIZE))?.[i % PAGE_SIZE], ensureRange };
}
