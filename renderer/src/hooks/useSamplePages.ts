// The dataset grid's data: the total for the current filter and samples
// fetched page by page as the visible range moves (never the whole list).
import { useCallback, useEffect, useRef, useState } from 'react';
import type { SampleFilter, SampleSummary } from '../../../shared/api';
import { useApi, useReportError } from '../api-context';
import { PageCache } from '../lib/page-cache';

export const PAGE_SIZE = 200;
/** Pages kept on each side of the visible range; farther ones are dropped. */
const KEEP_PAGES = 10;

export interface SamplePages {
  /** Undefined until the first page answers. */
  total: number | undefined;
  at(index: number): SampleSummary | undefined;
  /** Fetches the pages covering [first, last] that are not loaded yet. */
  ensureRange(first: number, last: number): void;
}

export function useSamplePages(filter: SampleFilter, dataVersion: number): SamplePages {
  const client = useApi();
  const report = useReportError();
  const cache = useRef(new PageCache<SampleSummary>(PAGE_SIZE));
  // Responses for an older filter are ignored: the generation changed under them.
  const generation = useRef(0);
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [, setTick] = useState(0);
  const filterKey = JSON.stringify(filter);

  const fetchPage = useCallback(
    (page: number) => {
      const gen = generation.current;
      const pages = cache.current;
      pages.markFetching(page);
      client
        .invoke('samples.page', { offset: page * PAGE_SIZE, limit: PAGE_SIZE, filter: JSON.parse(filterKey) as SampleFilter })
        .then(
          (r) => {
            if (gen !== generation.current) return;
            pages.settle(page, r.items);
            setTotal(r.total);
            setTick((t) => t + 1);
          },
          (e: unknown) => {
            if (gen !== generation.current) return;
            pages.settle(page, 'failed');
            report(e);
          },
        );
    },
    [client, filterKey, report],
  );

  useEffect(() => {
    generation.current += 1;
    cache.current = new PageCache<SampleSummary>(PAGE_SIZE);
    setTotal(undefined);
    fetchPage(0);
  }, [fetchPage, dataVersion]);

  const ensureRange = useCallback(
    (first: number, last: number) => {
      cache.current.evictOutside(first, last, KEEP_PAGES);
      for (const page of cache.current.missing(first, last)) fetchPage(page);
    },
    // dataVersion: a new import replaced the cache, so the visible range must be fetched again.
    [fetchPage, dataVersion],
  );

  return { total, at: (i) => cache.current.at(i), ensureRange };
}
