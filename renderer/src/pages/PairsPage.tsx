// The Pairs page (review): a focus view of one pair with its attention
// evidence and keyboard review (A accept, R reject, E edit, S swap, J/K next
// and previous, Ctrl+Z / Ctrl+Shift+Z undo and redo, ? the keys), and a
// virtualized grid of the filtered, sorted pairs with bulk accept / reject of
// the filter. Every action is saved in the project at once and undone by the
// project's own undo (pipeline.pairs.undo), so undo survives a reload. The
// view (mode, filter, sort, position) lives in the URL (lib/pairs-view.ts).
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import type { PairFilter, PairSort, PairView, ReviewOp } from '../../../shared/pipeline/commands';
import { BulkDialog, EditDialog, ShortcutSheet } from '../components/pairs/Dialogs';
import { isTyping, reviewCommand, type ReviewCommand } from '../components/pairs/keys';
import { PairFilters } from '../components/pairs/PairFilters';
import { PairFocus, type Threshold } from '../components/pairs/PairFocus';
import { PairsGrid } from '../components/pairs/PairsGrid';
import { formatCount } from '../lib/format';
import { pairsViewParams, readPairsView, type PairsView } from '../lib/pairs-view';
import {
  usePairDetail,
  usePairPages,
  usePrefetchPair,
  useReviewPair,
  useUndoRedo,
  useUndoState,
  type PairPages,
} from '../query/pairs';
import { usePipelineSettings, useProjectInfo } from '../query/queries';
import '../review.css';

type Dialog =
  { kind: 'edit'; pair: PairView } | { kind: 'keys' } | { kind: 'bulk'; action: 'accept' | 'reject' } | null;

/** Where a pair of `op` sits among the loaded rows near `around`, to go back to it after undo; -1 if not loaded. */
function indexOf(pages: PairPages, id: number, around: number): number {
  for (let d = 0; d <= 300; d++) {
    for (const i of d === 0 ? [around] : [around - d, around + d]) if (i >= 0 && pages.at(i)?.id === id) return i;
  }
  return -1;
}

function useThreshold(pair: PairView | undefined): Threshold | null {
  const settings = usePipelineSettings().data?.settings;
  if (pair === undefined || settings === undefined) return null;
  const table = settings.selection.thresholds[pair.format] as Record<string, Threshold | undefined>;
  return table[String(pair.image_count)] ?? null;
}

export function PairsPage() {
  const [params, setParams] = useSearchParams();
  const view = useMemo(() => readPairsView(params), [params]);
  const readOnly = useProjectInfo().data?.project?.readOnly ?? true;
  const update = useCallback(
    (change: Partial<PairsView>, replace = true) =>
      setParams((p) => pairsViewParams({ ...readPairsView(p), ...change }), { replace, flushSync: true }),
    [setParams],
  );
  const pages = usePairPages(view.filter, view.sort);
  const total = pages.total;
  const index = total === undefined || total === 0 ? 0 : Math.min(view.index, total - 1);
  const pair = pages.at(index);
  const { ensureRange } = pages;
  useEffect(() => {
    if (view.mode === 'focus') ensureRange(Math.max(0, index - 2), index + 4);
  }, [ensureRange, index, view.mode]);

  const detail = usePairDetail(pair?.id);
  const prefetch = usePrefetchPair();
  // The details of the next few pairs (and the previous one) are fetched ahead, so J paints from the cache.
  const near = [index + 1, index + 2, index + 3, index - 1].map((i) => (i >= 0 ? pages.at(i)?.id : undefined));
  const nearKey = near.join(',');
  useEffect(() => {
    if (view.mode !== 'focus') return;
    for (const id of nearKey.split(',')) if (id !== '') prefetch(Number(id));
  }, [nearKey, prefetch, view.mode]);

  const threshold = useThreshold(pair);
  const review = useReviewPair();
  const undoRedo = useUndoRedo();
  const undoState = useUndoState().data;
  const [dialog, setDialog] = useState<Dialog>(null);
  const [message, setMessage] = useState('');
  const closeDialog = useCallback(() => setDialog(null), []);

  const go = useCallback(
    (to: number) => {
      if (total === undefined || total === 0) return;
      update({ index: Math.min(total - 1, Math.max(0, to)) });
    },
    [total, update],
  );

  const afterUndo = useCallback(
    (op: ReviewOp | null, which: 'undo' | 'redo') => {
      if (op === null) {
        setMessage(which === 'undo' ? 'Nothing to undo.' : 'Nothing to redo.');
        return;
      }
      setMessage(`${which === 'undo' ? 'Undone' : 'Redone'}: ${op.label}.`);
      const at = op.pairs === 1 && op.pairIds[0] !== undefined ? indexOf(pages, op.pairIds[0], index) : -1;
      if (at >= 0 && view.mode === 'focus') update({ index: at });
    },
    [pages, index, update, view.mode],
  );

  const run = useCallback(
    (command: ReviewCommand) => {
      if (command === 'help') return setDialog((d) => (d?.kind === 'keys' ? null : { kind: 'keys' }));
      if (command === 'undo' || command === 'redo') {
        if (!readOnly) undoRedo.mutate(command, { onSuccess: (r) => afterUndo(r.op, command) });
        return;
      }
      if (view.mode !== 'focus') return;
      if (command === 'next') return go(index + 1);
      if (command === 'previous') return go(index - 1);
      if (pair === undefined || readOnly) return;
      if (command === 'edit') return setDialog({ kind: 'edit', pair });
      if (command === 'swap') {
        review.mutate(
          { id: pair.id, action: 'edit', chosen: pair.rejected, rejected: pair.chosen },
          { onSuccess: () => setMessage(`Swapped the answers of pair ${pair.id}.`) },
        );
        return;
      }
      const state = command === 'accept' ? 'accepted' : 'rejected';
      review.mutate({ id: pair.id, action: command }, { onSuccess: () => setMessage(`Pair ${pair.id} ${state}.`) });
      // A filter that hides the new state shrinks the list: the next pair moves into this place.
      const stays = view.filter.review !== undefined && !view.filter.review.includes(state);
      if (!stays) go(index + 1);
    },
    [readOnly, undoRedo, afterUndo, view.mode, view.filter.review, go, index, pair, review],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || isTyping(e.target)) return;
      const command = reviewCommand(e);
      if (command === null) return;
      // With a dialog open only `?` (to close the sheet) passes; the grid keeps its own arrows.
      if (dialog !== null && command !== 'help') return;
      if (view.mode === 'grid' && command !== 'undo' && command !== 'redo' && command !== 'help') return;
      e.preventDefault();
      run(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [run, dialog, view.mode]);

  const changeFilter = useCallback((filter: PairFilter) => update({ filter, index: 0 }), [update]);
  const changeSort = useCallback((sort: PairSort) => update({ sort, index: 0 }), [update]);
  const select = useCallback((i: number) => update({ index: i }), [update]);
  const open = useCallback((i: number) => update({ index: i, mode: 'focus' }), [update]);

  return (
    <div className="pairs-page">
      <div className="pairs-bar">
        <div role="group" aria-label="View" className="tabs">
          <button type="button" aria-pressed={view.mode === 'focus'} onClick={() => update({ mode: 'focus' })}>
            Focus
          </button>
          <button type="button" aria-pressed={view.mode === 'grid'} onClick={() => update({ mode: 'grid' })}>
            Grid
          </button>
        </div>
        <PairFilters filter={view.filter} sort={view.sort} onFilter={changeFilter} onSort={changeSort} />
      </div>
      <div className="pairs-actions">
        <span role="status" className="pairs-count">
          {total === undefined ? 'Loading pairs…' : `${formatCount(total)} pairs`}
        </span>
        <button
          type="button"
          disabled={readOnly || !total}
          onClick={() => setDialog({ kind: 'bulk', action: 'accept' })}
        >
          Accept all filtered…
        </button>
        <button
          type="button"
          disabled={readOnly || !total}
          onClick={() => setDialog({ kind: 'bulk', action: 'reject' })}
        >
          Reject all filtered…
        </button>
        <button
          type="button"
          disabled={readOnly || !undoState?.undo || undoRedo.isPending}
          title={undoState?.undo ? `Undo ${undoState.undo.label} (Ctrl+Z)` : 'Nothing to undo'}
          onClick={() => run('undo')}
        >
          Undo{undoState?.undo ? ` ${undoState.undo.label}` : ''}
        </button>
        <button
          type="button"
          disabled={readOnly || !undoState?.redo || undoRedo.isPending}
          title={undoState?.redo ? `Redo ${undoState.redo.label} (Ctrl+Shift+Z)` : 'Nothing to redo'}
          onClick={() => run('redo')}
        >
          Redo{undoState?.redo ? ` ${undoState.redo.label}` : ''}
        </button>
        <button type="button" onClick={() => run('help')} aria-keyshortcuts="?">
          Keys (?)
        </button>
        <span className="muted" aria-live="polite" data-testid="review-message">
          {message}
        </span>
      </div>

      {view.mode === 'grid' ? (
        <PairsGrid pages={pages} selected={index} onSelect={select} onOpen={open} />
      ) : total === 0 ? (
        <p className="empty">
          No pairs match. Pairs appear after the selection step keeps answers; change the filter or run selection on the
          Thresholds page.
        </p>
      ) : detail.data === undefined || pair === undefined ? (
        <p role="status">Loading the pair…</p>
      ) : (
        <div className="focus-wrap">
          <PairFocus
            detail={detail.data}
            threshold={threshold}
            position={`${formatCount(index + 1)} of ${formatCount(total ?? 0)}`}
          />
          <div className="focus-actions" role="toolbar" aria-label="Review">
            <button type="button" onClick={() => run('previous')} disabled={index === 0} aria-keyshortcuts="K">
              ← Previous (K)
            </button>
            <button type="button" className="accept" onClick={() => run('accept')} disabled={readOnly}>
              Accept (A)
            </button>
            <button type="button" className="reject" onClick={() => run('reject')} disabled={readOnly}>
              Reject (R)
            </button>
            <button type="button" onClick={() => run('edit')} disabled={readOnly}>
              Edit (E)
            </button>
            <button type="button" onClick={() => run('swap')} disabled={readOnly}>
              Swap (S)
            </button>
            <button
              type="button"
              onClick={() => run('next')}
              disabled={total === undefined || index >= total - 1}
              aria-keyshortcuts="J"
            >
              Next (J) →
            </button>
          </div>
        </div>
      )}

      {dialog?.kind === 'edit' && <EditDialog pair={dialog.pair} onClose={closeDialog} />}
      {dialog?.kind === 'keys' && <ShortcutSheet onClose={closeDialog} />}
      {dialog?.kind === 'bulk' && (
        <BulkDialog filter={view.filter} total={total ?? 0} action={dialog.action} onClose={closeDialog} />
      )}
    </div>
  );
}
