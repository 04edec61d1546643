// Filters of the dataset view: source file, only samples with problems, and
// a text search over question and answer (applied after a short pause in typing).
import { useEffect, useState } from 'react';
import type { SampleFilter } from '../../../shared/api';
import { useSources } from '../query/queries';

const SEARCH_DELAY_MS = 250;

interface Props {
  filter: SampleFilter;
  onChange(filter: SampleFilter): void;
}

function baseName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}

export function Filters({ filter, onChange }: Props) {
  const sources = useSources().data?.sources ?? [];
  const [text, setText] = useState(filter.text ?? '');
  // The search as last applied: when it changes from outside (a link, Back), the box shows it.
  const [applied, setApplied] = useState(filter.text);
  if (applied !== filter.text) {
    setApplied(filter.text);
    if ((text.trim() || undefined) !== filter.text) setText(filter.text ?? '');
  }

  useEffect(() => {
    const wanted = text.trim() === '' ? undefined : text.trim();
    if (wanted === filter.text) return;
    const timer = setTimeout(() => onChange({ ...filter, text: wanted }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, filter, onChange]);

  return (
    <div className="filters" role="search" aria-label="Filter samples">
      <label>
        Source
        <select
          value={filter.sourceId ?? ''}
          onChange={(e) =>
            onChange({ ...filter, sourceId: e.target.value === '' ? undefined : Number(e.target.value) })
          }
        >
          <option value="">All sources</option>
          {sources.map((s) => (
            <option key={s.id} value={s.id} title={s.path}>
              {baseName(s.path)} ({s.sampleCount})
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={filter.hasProblems === true}
          onChange={(e) => onChange({ ...filter, hasProblems: e.target.checked ? true : undefined })}
        />
        Only samples with problems
      </label>
      <label>
        Search
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="words in question or answer"
        />
      </label>
    </div>
  );
}
