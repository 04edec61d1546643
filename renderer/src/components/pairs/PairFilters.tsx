// The Pairs page's filters (format, image count, decision, review state,
// words) and sort (ratio, perplexity and the other metrics), applied to the
// grid and to the focus view's J/K order alike. The search applies after a
// short pause in typing.
import { useEffect, useState } from 'react';
import { PAIR_SORT_KEYS, type PairFilter, type PairSort } from '../../../../shared/pipeline/commands';
import { FORMATS } from '../../../../shared/pipeline/formats';

const SEARCH_DELAY_MS = 250;

export const SORT_NAMES: Record<(typeof PAIR_SORT_KEYS)[number], string> = {
  id: 'Pair number',
  attention_ratio: 'Attention ratio',
  exact_ratio: 'Exact-region ratio',
  ppl_maxprob: 'Perplexity (max-prob)',
  ppl_true: 'Perplexity (true)',
  length_ratio: 'Length ratio',
  edit_distance: 'Edit distance (chars)',
  edit_distance_tokens: 'Edit distance (tokens)',
};
const FORMAT_LABELS = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Picture in picture' } as const;
const COUNTS = [2, 3, 4, 5, 6, 9];

/** A select over one value of a list filter ('' = all). */
function OneOf<T extends string | number>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T[] | undefined;
  options: { value: T; label: string }[];
  onChange(v: T[] | undefined): void;
}) {
  const current = value?.length === 1 ? String(value[0]) : '';
  return (
    <label>
      {label}
      <select
        value={current}
        onChange={(e) => {
          const o = options.find((x) => String(x.value) === e.target.value);
          onChange(o === undefined ? undefined : [o.value]);
        }}
      >
        <option value="">All</option>
        {options.map((o) => (
          <option key={String(o.value)} value={String(o.value)}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}

export function PairFilters({
  filter,
  sort,
  onFilter,
  onSort,
}: {
  filter: PairFilter;
  sort: PairSort;
  onFilter(f: PairFilter): void;
  onSort(s: PairSort): void;
}) {
  const [text, setText] = useState(filter.text ?? '');
  const [applied, setApplied] = useState(filter.text);
  if (applied !== filter.text) {
    setApplied(filter.text);
    if ((text.trim() || undefined) !== filter.text) setText(filter.text ?? '');
  }
  useEffect(() => {
    const wanted = text.trim() === '' ? undefined : text.trim();
    if (wanted === filter.text) return;
    const timer = setTimeout(() => onFilter({ ...filter, text: wanted }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, filter, onFilter]);

  return (
    <div className="filters pair-filters" role="search" aria-label="Filter pairs">
      <OneOf
        label="Format"
        value={filter.format}
        options={FORMATS.map((f) => ({ value: f, label: FORMAT_LABELS[f] }))}
        onChange={(format) => onFilter({ ...filter, format })}
      />
      <OneOf
        label="Images"
        value={filter.imageCount}
        options={COUNTS.map((c) => ({ value: c, label: String(c) }))}
        onChange={(imageCount) => onFilter({ ...filter, imageCount })}
      />
      <OneOf
        label="Decision"
        value={filter.decision}
        options={[
          { value: 'keep' as const, label: 'Kept' },
          { value: 'drop' as const, label: 'Dropped' },
          { value: 'undecided' as const, label: 'Undecided' },
        ]}
        onChange={(decision) => onFilter({ ...filter, decision })}
      />
      <OneOf
        label="Review"
        value={filter.review}
        options={[
          { value: 'pending' as const, label: 'Pending' },
          { value: 'accepted' as const, label: 'Accepted' },
          { value: 'rejected' as const, label: 'Rejected' },
        ]}
        onChange={(review) => onFilter({ ...filter, review })}
      />
      <label>
        Search
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="words in prompt or answers"
        />
      </label>
      <label>
        Sort by
        <select value={sort.by} onChange={(e) => onSort({ ...sort, by: e.target.value as PairSort['by'] })}>
          {PAIR_SORT_KEYS.map((k) => (
            <option key={k} value={k}>
              {SORT_NAMES[k]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Order
        <select value={sort.dir} onChange={(e) => onSort({ ...sort, dir: e.target.value as PairSort['dir'] })}>
          <option value="asc">Lowest first</option>
          <option value="desc">Highest first</option>
        </select>
      </label>
    </div>
  );
}
