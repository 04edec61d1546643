// The dataset page's view as URL search parameters, so a link (or a reload)
// restores it: the tab, the filter of the grid and the sample whose detail is
// open, e.g. #/dataset?tab=samples&problems=1&q=triangle&sample=123.
// Values that do not parse are dropped: a mangled link shows the default view.
import { Id, SampleFilter } from '../../../shared/api';

export const DATASET_TABS = ['samples', 'augmented', 'problems', 'jobs'] as const;
export type DatasetTab = (typeof DATASET_TABS)[number];

export interface DatasetView {
  tab: DatasetTab;
  filter: SampleFilter;
  /** The sample whose detail panel is open. */
  sample: number | undefined;
}

function idParam(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value)) return undefined;
  const id = Id.safeParse(Number(value));
  return id.success ? id.data : undefined;
}

export function readDatasetView(params: URLSearchParams): DatasetView {
  const tab = params.get('tab');
  const filter = SampleFilter.safeParse({
    sourceId: idParam(params.get('source')),
    hasProblems: params.get('problems') === '1' ? true : undefined,
    text: params.get('q') || undefined,
  });
  return {
    tab: DATASET_TABS.find((t) => t === tab) ?? 'samples',
    filter: filter.success ? filter.data : {},
    sample: idParam(params.get('sample')),
  };
}

/** The parameters for `view`, defaults left out so links stay short. */
export function datasetViewParams(view: DatasetView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.tab !== 'samples') params.set('tab', view.tab);
  if (view.filter.sourceId !== undefined) params.set('source', String(view.filter.sourceId));
  if (view.filter.hasProblems === true) params.set('problems', '1');
  if (view.filter.text !== undefined) params.set('q', view.filter.text);
  if (view.sample !== undefined) params.set('sample', String(view.sample));
  return params;
}
