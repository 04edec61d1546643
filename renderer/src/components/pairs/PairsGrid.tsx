// The pairs as a virtualized table: one row per pair (only the rows on screen
// exist in the DOM; pages load as they scroll into view), so 100k pairs
// scroll smoothly. Arrows move the selection, Enter opens the pair in focus.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef, type KeyboardEvent } from 'react';
import type { PairView } from '../../../../shared/pipeline/commands';
import type { PairPages } from '../../query/pairs';

export const ROW_HEIGHT = 36;

const COLUMNS = ['#', 'Format', 'Images', 'Ratio', 'Perplexity', 'Decision', 'Review', 'Prompt', 'Rejected answer'];

const num = (v: number | null) => (v === null ? '–' : v.toFixed(3));

const Row = memo(function Row({
  index,
  pair,
  selected,
  onSelect,
  onOpen,
}: {
  index: number;
  pair: PairView | undefined;
  selected: boolean;
  onSelect(i: number): void;
  onOpen(i: number): void;
}) {
  if (pair === undefined)
    return (
      <div role="row" aria-rowindex={index + 2} className="pr-row pr-loading" aria-busy="true">
        <div role="gridcell">Loading…</div>
      </div>
    );
  return (
    <div
      role="row"
      id={`pair-row-${index}`}
      aria-rowindex={index + 2}
      aria-selected={selected}
      className={`pr-row${selected ? ' pr-selected' : ''}`}
      onClick={() => onSelect(index)}
      onDoubleClick={() => onOpen(index)}
    >
      <div role="gridcell">{pair.id}</div>
      <div role="gridcell">{pair.format}</div>
      <div role="gridcell">{pair.image_count}</div>
      <div role="gridcell">{num(pair.attention_ratio)}</div>
      <div role="gridcell">{num(pair.ppl_maxprob)}</div>
      <div role="gridcell">{pair.decision ?? 'undecided'}</div>
      <div role="gridcell" className={`review-${pair.review}`}>
        {pair.review}
      </div>
      <div role="gridcell" className="pr-text" title={pair.prompt}>
        {pair.prompt.replace(/<image>\n?/g, '')}
      </div>
      <div role="gridcell" className="pr-text" title={pair.rejected}>
        {pair.rejected}
      </div>
    </div>
  );
});

export function PairsGrid({
  pages,
  selected,
  onSelect,
  onOpen,
}: {
  pages: PairPages;
  selected: number;
  onSelect(i: number): void;
  onOpen(i: number): void;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const total = pages.total ?? 0;
  const rows = useVirtualizer({
    count: total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });
  const items = rows.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? -1;
  const { ensureRange } = pages;
  useEffect(() => {
    if (last >= 0) ensureRange(first, last);
  }, [ensureRange, first, last]);
  // The selection (e.g. after focus) scrolled into view when the grid opens.
  const initial = useRef(selected);
  useEffect(() => {
    if (initial.current > 0) rows.scrollToIndex(initial.current, { align: 'center' });
  }, [rows]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const page = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? ROW_HEIGHT) / ROW_HEIGHT) - 1);
    const step: Record<string, number> = {
      ArrowDown: 1,
      ArrowUp: -1,
      j: 1,
      k: -1,
      PageDown: page,
      PageUp: -page,
      Home: -Infinity,
      End: Infinity,
    };
    const d = step[e.key];
    if (d !== undefined && total > 0) {
      e.preventDefault();
      const next = Math.min(total - 1, Math.max(0, selected < 0 ? 0 : selected + d));
      onSelect(next);
      rows.scrollToIndex(next);
    } else if (e.key === 'Enter' && selected >= 0) {
      e.preventDefault();
      onOpen(selected);
    }
  };

  return (
    <div
      ref={scrollRef}
      className="pairs-grid"
      role="grid"
      aria-label="Pairs"
      aria-rowcount={total + 1}
      aria-activedescendant={selected >= 0 && pages.at(selected) ? `pair-row-${selected}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
    >
      <div role="row" aria-rowindex={1} className="pr-row pr-head">
        {COLUMNS.map((c) => (
          <div role="columnheader" key={c}>
            {c}
          </div>
        ))}
      </div>
      {pages.total === 0 && <p className="empty">No pairs match.</p>}
      <div className="pr-canvas" style={{ height: rows.getTotalSize() }}>
        {items.map((item) => (
          <div key={item.key} className="pr-slot" style={{ transform: `translateY(${item.start}px)` }}>
            <Row
              index={item.index}
              pair={pages.at(item.index)}
              selected={item.index === selected}
              onSelect={onSelect}
              onOpen={onOpen}
            />
          </div>
        ))}
      </div>
    </div>
  );
}
