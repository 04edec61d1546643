// Every bad entry the imports found, with its position in the file, its id,
// the reason and the message; paged so a million problems stay cheap.
import { useState } from 'react';
import { formatCount } from '../lib/format';
import { useProblemPage } from '../query/queries';
import { ProblemReasonLabel } from './ProblemReasonLabel';

const PAGE = 100;

interface Props {
  onOpenSample(sampleId: number): void;
}

export function ProblemsList({ onOpenSample }: Props) {
  const [offset, setOffset] = useState(0);
  const page = useProblemPage(offset, PAGE).data;

  if (page === undefined) return <p role="status">Loading problems…</p>;
  if (page.total === 0) return <p role="status">No problems: every imported entry was fine.</p>;
  return (
    <section className="problems" aria-label="Problems">
      <p role="status">
        {formatCount(page.total)} problem entries · showing {formatCount(offset + 1)}–
        {formatCount(offset + page.items.length)}
      </p>
      <div className="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Entry</th>
              <th scope="col">Line</th>
              <th scope="col">Id</th>
              <th scope="col">Reason</th>
              <th scope="col">Message</th>
              <th scope="col">Path</th>
            </tr>
          </thead>
          <tbody>
            {page.items.map((p) => (
              <tr key={p.id}>
                <td>{p.index}</td>
                <td>{p.line ?? '–'}</td>
                <td>
                  {p.sampleId === null ? (
                    (p.entryId ?? '–')
                  ) : (
                    <button type="button" className="link" onClick={() => onOpenSample(p.sampleId!)}>
                      {p.entryId ?? `sample ${p.sampleId}`}
                    </button>
                  )}
                </td>
                <td>
                  <ProblemReasonLabel reason={p.reason} />
                </td>
                <td>{p.message}</td>
                <td className="path">{p.path ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Problem pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <button type="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </nav>
    </section>
  );
}
