import { describe, expect, it } from 'vitest';
import { PageCache } from '../../../renderer/src/lib/page-cache';

describe('PageCache', () => {
  it('asks only for pages neither loaded nor in flight', () => {
    const c = new PageCache<number>(10);
    expect(c.missing(0, 25)).toEqual([0, 1, 2]);
    c.markFetching(1);
    c.settle(0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(c.missing(0, 25)).toEqual([2]);
    expect(c.missing(5, 4)).toEqual([]);
  });

  it('returns items by global index once their page has arrived', () => {
    const c = new PageCache<string>(3);
    c.markFetching(2);
    expect(c.at(7)).toBeUndefined();
    c.settle(2, ['g', 'h', 'i']);
    expect(c.at(6)).toBe('g');
    expect(c.at(8)).toBe('i');
  });

  it('retries a page whose fetch failed', () => {
    const c = new PageCache<number>(5);
    c.markFetching(0);
    expect(c.missing(0, 4)).toEqual([]);
    c.settle(0, 'failed');
    expect(c.missing(0, 4)).toEqual([0]);
  });

  it('drops pages far from the visible range so memory stays bounded', () => {
    const c = new PageCache<number>(100);
    for (let p = 0; p < 50; p++) c.settle(p, [p]);
    c.evictOutside(2000, 2099, 2);
    expect(c.loadedPages).toBe(5);
    expect(c.at(1800)).toBe(18);
    expect(c.at(1700)).toBeUndefined();
  });
});
