// The detail of one sample: its images at a large thumbnail size, the whole
// conversation, and the problems the import found for it. Esc closes it.
import { useEffect, useRef } from 'react';
import { useApi } from '../api-context';
import { useEscape } from '../hooks/useEscape';
import { useSampleDetail } from '../query/queries';
import { ProblemReasonLabel } from './ProblemReasonLabel';

interface Props {
  sampleId: number;
  onClose(): void;
}

export function DetailPanel({ sampleId, onClose }: Props) {
  const client = useApi();
  const detail = useSampleDetail(sampleId);
  const sample = detail.data;
  const closeRef = useRef<HTMLButtonElement>(null);

  useEscape(onClose);
  useEffect(() => closeRef.current?.focus(), [sampleId]);

  const title = sample === undefined ? 'Sample' : `Sample ${sample.externalId}`;
  return (
    <aside className="detail" role="dialog" aria-modal="false" aria-label={title}>
      <header className="detail-header">
        <h2>{title}</h2>
        <button ref={closeRef} type="button" onClick={onClose} aria-label="Close sample">
          ✕
        </button>
      </header>
      {sample === undefined ? (
        <p role="status">{detail.isError ? 'This sample could not be loaded.' : 'Loading…'}</p>
      ) : (
        <div className="detail-body">
          <section aria-label="Images" className="detail-images">
            {sample.images.length === 0 && (
              <p className="muted">No image (text-only sample or the image is missing).</p>
            )}
            {sample.images.map((img, i) => (
              <figure key={img.id}>
                <img src={client.imageUrl(img.id, 512)} alt={`Image ${i + 1} of sample ${sample.externalId}`} />
                <figcaption title={img.path}>
                  {img.width}×{img.height} · {img.path}
                </figcaption>
              </figure>
            ))}
          </section>
          <section aria-label="Conversation">
            <h3>Conversation</h3>
            <ol className="conversation">
              {sample.conversation.map((turn, i) => (
                <li key={i} className={`turn turn-${turn.from}`}>
                  <span className="turn-speaker">{turn.from === 'human' ? 'Question' : 'Answer'}</span>
                  <p>{turn.value}</p>
                </li>
              ))}
            </ol>
          </section>
          {sample.problems.length > 0 && (
            <section aria-label="Problems of this sample">
              <h3>Problems</h3>
              <ul className="problems-inline">
                {sample.problems.map((p) => (
                  <li key={p.id}>
                    <ProblemReasonLabel reason={p.reason} /> {p.message}
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
      )}
    </aside>
  );
}
