// A long server-side list read page by page as the visible range moves (never
// the whole list): the total for the current query and the rows on screen.
// Each page is a query of its own, so a finished job refetches the pages on
// screen in place; pages scrolled away are garbage-collected by the cache. The
// sample grid and the pairs list both read through it.
import { useQueries, type QueryKey } from '@tanstack/react-query';
import { useCallback, useState } from 'react';

/** How long a page scrolled out of view stays cached (memory stays bounded while scrolling 100k rows). */
const PAGE_GC_MS = 30_000;

export interface PagedList<T> {
  /** Undefined until the first page answers. */
  total: number | undefined;
  at(index: number): T | undefined;
  /** Fetches the pages covering [first, last] that are not loaded yet. */
  ensureRange(first: number, last: number): void;
}

export interface PagedListQuery<T> {
  /** What the list shows (filter, sort...): a new value starts from the top. */
  identity: unknown;
  pageSize: number;
  pageKey(page: number): QueryKey;
  fetchPage(offset: number, limit: number): Promise<{ total: number; items: T[] }>;
  /** Keep a page's old rows on screen while its refetch runs (after an edit of the rows). */
  keepWhileRefetching?: boolean;
}

/** The pages to hold: the first (it carries the total for an empty list too) and those covering the visible range. */
export function pagesToLoad(firstPage: number, lastPage: number): number[] {
  const pages = [0];
  for (let p = Math.max(1, firstPage); p <= lastPage; p++) pages.push(p);
  return pages;
}

export function usePagedList<T>(q: PagedListQuery<T>): PagedList<T> {
  const key = JSON.stringify(q.identity);
  const [visible, setVisible] = useState({ key, first: 0, last: 0 });
  const { first, last } = visible.key === key ? visible : { first: 0, last: 0 };
  const wanted = pagesToLoad(first, last);
  const { pageSize } = q;
  const loaded = useQueries({
    queries: wanted.map((page) => ({
      queryKey: q.pageKey(page),
      queryFn: () => q.fetchPage(page * pageSize, pageSize),
      gcTime: PAGE_GC_MS,
      ...(q.keepWhileRefetching ? { placeholderData: (prev: { total: number; items: T[] } | undefined) => prev } : {}),
    })),
    combine: (results) => {
      const pages = new Map<number, T[]>();
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
        key,
        first: Math.floor(Math.max(0, firstIndex) / pageSize),
        last: Math.floor(Math.max(0, lastIndex) / pageSize),
      };
      setVisible((v) => (v.key === next.key && v.first === next.first && v.last === next.last ? v : next));
    },
    [key, pageSize],
  );
  const { pages, total } = loaded;
  return { total, at: (i) => pages.get(Math.floor(i / pageSize))?.[i % pageSize], ensureRange };
}
