// The augmented samples the pipeline made, page by page: each one's images as
// the model will see them (a sequence's images side by side with the target
// marked, or the one grid / pic-in-pic composite), its question and the
// expected answer. Filtered by format; the page is in local state.
import { useState } from 'react';
import type { AugmentedView } from '../../../shared/pipeline/commands';
import { FORMATS, type Format } from '../../../shared/pipeline/formats';
import { pairImageUrl } from '../../../shared/pipeline/image-route';
import { useApi } from '../api-context';
import { formatCount } from '../lib/format';
import { FORMAT_LABELS } from '../lib/labels';
import { useAugmentedPage } from '../query/queries';

const PAGE = 24;

function AugmentedCard({ sample }: { sample: AugmentedView }) {
  const client = useApi();
  const composite = sample.images.length === 1 && sample.images[0]!.kind === 'composite';
  const label = `Augmented sample ${sample.id}: ${FORMAT_LABELS[sample.format]}, ${sample.imageCount} images, target Image${sample.targetIndex}`;
  return (
    <li className="augmented" aria-label={label}>
      <div className={`augmented-images${composite ? ' augmented-composite' : ''}`}>
        {sample.images.map((ref, i) => {
          const target = !composite && i + 1 === sample.targetIndex;
          return (
            <figure key={`${ref.kind}-${ref.id}-${i}`} className={target ? 'target' : undefined}>
              <img
                src={pairImageUrl(client, ref, 256)}
                alt={
                  composite
                    ? `${FORMAT_LABELS[sample.format]} composite of ${sample.imageCount} images`
                    : `Image${i + 1}`
                }
                loading="lazy"
              />
              {!composite && <figcaption>{target ? `Image${i + 1} (target)` : `Image${i + 1}`}</figcaption>}
            </figure>
          );
        })}
      </div>
      <p className="augmented-meta muted">
        {FORMAT_LABELS[sample.format]} · {sample.imageCount} images · target Image{sample.targetIndex} · from sample{' '}
        {sample.sourceSampleId}
      </p>
      <p className="augmented-prompt">{sample.prompt.replaceAll('<image>', '▣')}</p>
      <p className="augmented-answer">
        <span className="muted">Expected answer: </span>
        {sample.groundTruth}
      </p>
    </li>
  );
}

export function AugmentedList() {
  const [format, setFormat] = useState<Format | undefined>(undefined);
  const [offset, setOffset] = useState(0);
  const page = useAugmentedPage(format, offset, PAGE).data;
  const total = page?.total ?? 0;
  return (
    <section className="augmented-view" aria-label="Augmented samples">
      <div className="row">
        <label>
          Format{' '}
          <select
            value={format ?? ''}
            onChange={(e) => {
              setFormat(e.target.value === '' ? undefined : (e.target.value as Format));
              setOffset(0);
            }}
          >
            <option value="">All formats</option>
            {FORMATS.map((f) => (
              <option key={f} value={f}>
                {FORMAT_LABELS[f]}
              </option>
            ))}
          </select>
        </label>
        <span role="status" aria-label="Augmented count">
          {page === undefined
            ? 'Loading…'
            : total === 0
              ? 'No augmented samples yet: start Augment on the Pipeline page.'
              : `${formatCount(offset + 1)}–${formatCount(Math.min(total, offset + PAGE))} of ${formatCount(total)} augmented samples`}
        </span>
        <div className="pager">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </div>
      </div>
      <ul className="augmented-list">
        {page?.items.map((s) => (
          <AugmentedCard key={s.id} sample={s} />
        ))}
      </ul>
    </section>
  );
}
