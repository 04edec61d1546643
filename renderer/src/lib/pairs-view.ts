// The Pairs page's view as URL search parameters, so a link or a reload
// restores it: focus or grid, the filter, the sort and the position in the
// list, e.g. #/pairs?view=grid&format=grid&review=pending&sort=attention_ratio&i=12.
// Values that do not parse are dropped: a mangled link shows the default view.
import { PairFilter, PairSort } from '../../../shared/pipeline/commands';

export type PairsMode = 'focus' | 'grid';

export interface PairsView {
  mode: PairsMode;
  filter: PairFilter;
  sort: PairSort;
  /** Position of the pair in focus in the filtered, sorted list. */
  index: number;
}

const list = (value: string | null): string[] | undefined =>
  value === null || value === '' ? undefined : value.split(',');

export function readPairsView(params: URLSearchParams): PairsView {
  const filter = PairFilter.safeParse({
    format: list(params.get('format')),
    imageCount: list(params.get('count'))?.map(Number),
    decision: list(params.get('decision')),
    review: list(params.get('review')),
    text: params.get('q') || undefined,
  });
  const sort = PairSort.safeParse({ by: params.get('sort') ?? undefined, dir: params.get('dir') ?? undefined });
  const index = Number(params.get('i') ?? '0');
  return {
    mode: params.get('view') === 'grid' ? 'grid' : 'focus',
    filter: filter.success ? filter.data : {},
    sort: sort.success ? sort.data : { by: 'id', dir: 'asc' },
    index: Number.isSafeInteger(index) && index >= 0 ? index : 0,
  };
}

/** The parameters for `view`, defaults left out so links stay short. */
export function pairsViewParams(view: PairsView): URLSearchParams {
  const params = new URLSearchParams();
  if (view.mode === 'grid') params.set('view', 'grid');
  const f = view.filter;
  if (f.format) params.set('format', f.format.join(','));
  if (f.imageCount) params.set('count', f.imageCount.join(','));
  if (f.decision) params.set('decision', f.decision.join(','));
  if (f.review) params.set('review', f.review.join(','));
  if (f.text !== undefined) params.set('q', f.text);
  if (view.sort.by !== 'id') params.set('sort', view.sort.by);
  if (view.sort.dir !== 'asc') params.set('dir', view.sort.dir);
  if (view.index > 0) params.set('i', String(view.index));
  return params;
}
