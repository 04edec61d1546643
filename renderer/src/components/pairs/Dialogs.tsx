// The Pairs page's dialogs: the edit of a pair's answers (E), the shortcut
// sheet (?), and bulk accept / reject of the current filter with the count of
// pairs it will change. Errors are shown in the dialog that caused them.
import { useState, type FormEvent, type ReactNode } from 'react';
import type { PairFilter, PairView } from '../../../../shared/pipeline/commands';
import { useEscape } from '../../hooks/useEscape';
import { errorSentence } from '../../lib/error-sentence';
import { formatCount } from '../../lib/format';
import { useReviewMany, useReviewManyCount, useReviewPair } from '../../query/pairs';
import { REVIEW_KEYS } from './keys';

function Dialog({ id, title, onClose, children }: { id: string; title: string; onClose(): void; children: ReactNode }) {
  useEscape(onClose);
  return (
    <div className="overlay">
      <section className="dialog" role="dialog" aria-modal="true" aria-labelledby={id}>
        <header className="dialog-header">
          <h2 id={id}>{title}</h2>
          <button type="button" onClick={onClose} aria-label={`Close ${title.toLowerCase()}`}>
            ✕
          </button>
        </header>
        {children}
      </section>
    </div>
  );
}

export function EditDialog({ pair, onClose }: { pair: PairView; onClose(): void }) {
  const [chosen, setChosen] = useState(pair.chosen);
  const [rejected, setRejected] = useState(pair.rejected);
  const save = useReviewPair({ inline: true });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ id: pair.id, action: 'edit', chosen, rejected }, { onSuccess: onClose });
  };
  return (
    <Dialog id="edit-title" title={`Edit pair ${pair.id}`} onClose={onClose}>
      <form className="form" onSubmit={submit}>
        <label>
          Chosen answer (preferred)
          <textarea autoFocus rows={5} value={chosen} onChange={(e) => setChosen(e.target.value)} />
        </label>
        <label>
          Rejected answer
          <textarea rows={5} value={rejected} onChange={(e) => setRejected(e.target.value)} />
        </label>
        {save.isError && (
          <p className="error-text" role="alert">
            {errorSentence(save.error)}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={save.isPending}>
            Save (undo with Ctrl+Z)
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function ShortcutSheet({ onClose }: { onClose(): void }) {
  return (
    <Dialog id="keys-title" title="Keyboard shortcuts" onClose={onClose}>
      <table className="keys-table">
        <tbody>
          {REVIEW_KEYS.map((k) => (
            <tr key={k.command}>
              <td>
                {k.keys.map((key, i) => (
                  <span key={key}>
                    {i > 0 && ' or '}
                    <kbd>{key}</kbd>
                  </span>
                ))}
              </td>
              <td>{k.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Every action is saved in the project at once; undo and redo work after a reload too.</p>
    </Dialog>
  );
}

export function BulkDialog({
  filter,
  total,
  action,
  onClose,
}: {
  filter: PairFilter;
  total: number;
  action: 'accept' | 'reject';
  onClose(): void;
}) {
  const count = useReviewManyCount(filter, action);
  const run = useReviewMany();
  const verb = action === 'accept' ? 'Accept' : 'Reject';
  const n = count.data?.count;
  return (
    <Dialog id="bulk-title" title={`${verb} the filtered pairs`} onClose={onClose}>
      <p data-testid="bulk-preview">
        {n === undefined
          ? 'Counting…'
          : `${formatCount(n)} of the ${formatCount(total)} pairs that match the filter will be marked ${
              action === 'accept' ? 'accepted' : 'rejected'
            }${n < total ? ` (${formatCount(total - n)} already are)` : ''}.`}
      </p>
      <p className="muted">This is one action: Ctrl+Z undoes all of it.</p>
      {(count.isError || run.isError) && (
        <p className="error-text" role="alert">
          {errorSentence(count.error ?? run.error)}
        </p>
      )}
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="primary"
          disabled={n === undefined || n === 0 || run.isPending}
          onClick={() => run.mutate({ filter, action }, { onSuccess: onClose })}
        >
          {verb} {n === undefined ? '' : formatCount(n)} pairs
        </button>
      </div>
    </Dialog>
  );
}
