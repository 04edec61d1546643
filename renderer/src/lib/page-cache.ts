// Fixed-size pages of a long list fetched on demand (the dataset grid at
// 100k+ samples): which pages a visible range needs, which are loaded or in
// flight, and the item at an index. Plain TypeScript, no React.

export class PageCache<T> {
  private readonly pages = new Map<number, T[]>();
  private readonly inFlight = new Set<number>();

  constructor(readonly pageSize: number) {}

  /** Page numbers covering indices [first, last] that are neither loaded nor being fetched. */
  missing(first: number, last: number): number[] {
    if (last < first) return [];
    const out: number[] = [];
    for (let p = Math.floor(Math.max(0, first) / this.pageSize); p <= Math.floor(last / this.pageSize); p++) {
      if (!this.pages.has(p) && !this.inFlight.has(p)) out.push(p);
    }
    return out;
  }

  markFetching(page: number): void {
    this.inFlight.add(page);
  }

  /** Stores a fetched page; `failed` pages become missing again so a later scroll retries them. */
  settle(page: number, items: T[] | 'failed'): void {
    this.inFlight.delete(page);
    if (items !== 'failed') this.pages.set(page, items);
  }

  at(index: number): T | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize];
  }

  /** Drops pages far from the visible range so memory stays bounded while scrolling 100k rows. */
  evictOutside(first: number, last: number, keepPages: number): void {
    const lo = Math.floor(first / this.pageSize) - keepPages;
    const hi = Math.floor(last / this.pageSize) + keepPages;
    for (const p of this.pages.keys()) if (p < lo || p > hi) this.pages.delete(p);
  }

  get loadedPages(): number {
    return this.pages.size;
  }
}
