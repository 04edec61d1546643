// The dataset page's view in the URL: parameters written are read back as
// the same view, defaults are left out, and a mangled link shows the default.
import { describe, expect, it } from 'vitest';
import { datasetViewParams, readDatasetView, type DatasetView } from '../../../renderer/src/lib/dataset-view';
import { pagesToLoad } from '../../../renderer/src/hooks/usePagedList';

describe('dataset view in the URL', () => {
  it('reads back what it writes', () => {
    const view: DatasetView = {
      tab: 'problems',
      filter: { sourceId: 3, hasProblems: true, text: 'red triangle' },
      sample: 123,
    };
    const params = datasetViewParams(view);
    expect(params.toString()).toBe('tab=problems&source=3&problems=1&q=red+triangle&sample=123');
    expect(readDatasetView(new URLSearchParams(params.toString()))).toEqual(view);
  });

  it('leaves the defaults out', () => {
    expect(datasetViewParams({ tab: 'samples', filter: {}, sample: undefined }).toString()).toBe('');
    expect(readDatasetView(new URLSearchParams(''))).toEqual({ tab: 'samples', filter: {}, sample: undefined });
  });

  it('drops values that do not parse', () => {
    const view = readDatasetView(new URLSearchParams('tab=pairs&source=-1&problems=yes&q=&sample=1.5'));
    expect(view.tab).toBe('samples');
    expect(view.sample).toBeUndefined();
    expect(datasetViewParams(view).toString()).toBe('');
    expect(readDatasetView(new URLSearchParams(`q=${'x'.repeat(501)}&sample=7`))).toEqual({
      tab: 'samples',
      filter: {},
      sample: 7,
    });
  });
});

describe('sample pages to hold', () => {
  it('keeps the first page (it carries the total) and the pages of the visible range', () => {
    expect(pagesToLoad(0, 0)).toEqual([0]);
    expect(pagesToLoad(0, 1)).toEqual([0, 1]);
    expect(pagesToLoad(300, 301)).toEqual([0, 300, 301]);
  });
});
