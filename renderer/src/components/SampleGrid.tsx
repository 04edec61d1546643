// The dataset grid: thumbnails of samples in a virtualized grid (only the
// rows on screen exist in the DOM; pages load as they scroll into view), so
// 100k+ samples scroll smoothly. Arrows move the selection, Enter opens it.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import type { SampleSummary } from '../../../shared/api';
import { useApi } from '../api-context';
import type { SamplePages } from '../hooks/useSamplePages';
import { formatCount } from '../lib/format';
import { columnsFor, isNavKey, moveSelection } from '../lib/grid-nav';

const CELL_WIDTH = 176;
const CELL_HEIGHT = 208;

interface Props {
  pages: SamplePages;
  selected: number;
  onSelect(index: number): void;
  onOpen(sample: SampleSummary): void;
}

function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(() => setWidth(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

interface CellProps {
  index: number;
  sample: SampleSummary | undefined;
  isSelected: boolean;
  onSelect(index: number): void;
  onOpen(sample: SampleSummary): void;
}

// Memoized: while scrolling only cells entering the view render; the rest keep their props.
const Cell = memo(function Cell({ index, sample, isSelected, onSelect, onOpen }: CellProps) {
  const client = useApi();
  if (sample === undefined) {
    return (
      <div role="gridcell" className="cell cell-loading" aria-busy="true" aria-label={`Sample ${index + 1}, loading`} />
    );
  }
  return (
    <div
      role="gridcell"
      id={`sample-cell-${index}`}
      className={`cell${isSelected ? ' cell-selected' : ''}`}
      aria-selected={isSelected}
      onClick={() => onSelect(index)}
      onDoubleClick={() => onOpen(sample)}
    >
      {sample.imageId === null ? (
        <div className="thumb thumb-empty" aria-hidden="true">
          {sample.hasProblems ? 'image problem' : 'text only'}
        </div>
      ) : (
        <img
          className="thumb"
          src={client.imageUrl(sample.imageId, 256)}
          alt=""
          loading="lazy"
          decoding="async"
          draggable={false}
        />
      )}
      <div className="cell-caption">
        {sample.hasProblems && (
          <span className="badge-problem" title="This sample has problems" aria-hidden="true">
            !
          </span>
        )}
        {/* The cell is named by its content (so its name holds its visible text): "Sample ID[, has problems] question". */}
        <span className="visually-hidden">
          Sample {sample.externalId}
          {sample.hasProblems ? ', has problems' : ''}
        </span>
        <span className="cell-id" aria-hidden="true">
          {sample.externalId}
        </span>
      </div>
      <div className="cell-question">{sample.question}</div>
    </div>
  );
});

export function SampleGrid({ pages, selected, onSelect, onOpen }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const width = useWidth(scrollRef);
  const columns = columnsFor(width, CELL_WIDTH);
  const total = pages.total ?? 0;
  const rowCount = Math.ceil(total / columns);
  const rows = useVirtualizer({
    count: rowCount,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => CELL_HEIGHT,
    overscan: 4,
  });
  const items = rows.getVirtualItems();
  const firstRow = items[0]?.index ?? 0;
  const lastRow = items[items.length - 1]?.index ?? -1;

  const { ensureRange } = pages;
  useEffect(() => {
    if (lastRow >= 0) ensureRange(firstRow * columns, Math.min(total, (lastRow + 1) * columns) - 1);
  }, [ensureRange, firstRow, lastRow, columns, total]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (isNavKey(e.key)) {
      e.preventDefault();
      const pageRows = Math.max(1, Math.floor((scrollRef.current?.clientHeight ?? CELL_HEIGHT) / CELL_HEIGHT));
      const next = moveSelection(selected, e.key, columns, total, pageRows);
      onSelect(next);
      if (next >= 0) rows.scrollToIndex(Math.floor(next / columns));
    } else if (e.key === 'Enter') {
      const sample = selected >= 0 ? pages.at(selected) : undefined;
      if (sample !== undefined) {
        e.preventDefault();
        onOpen(sample);
      }
    }
  };

  return (
    <div
      ref={scrollRef}
      className="grid-scroll"
      role="grid"
      aria-label="Samples"
      aria-rowcount={rowCount}
      aria-colcount={columns}
      aria-activedescendant={selected >= 0 ? `sample-cell-${selected}` : undefined}
      tabIndex={0}
      onKeyDown={onKeyDown}
    >
      {pages.total === 0 && <p className="empty">No samples match.</p>}
      <div className="grid-canvas" style={{ height: rows.getTotalSize() }}>
        {items.map((row) => (
          <div
            key={row.key}
            role="row"
            aria-rowindex={row.index + 1}
            className="grid-row"
            style={{ transform: `translateY(${row.start}px)`, height: CELL_HEIGHT }}
          >
            {Array.from({ length: Math.min(columns, total - row.index * columns) }, (_, c) => {
              const index = row.index * columns + c;
              return (
                <Cell
                  key={index}
                  index={index}
                  sample={pages.at(index)}
                  isSelected={index === selected}
                  onSelect={onSelect}
                  onOpen={onOpen}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

export function GridStatus({ total, selected }: { total: number | undefined; selected: number }) {
  if (total === undefined) return <span role="status">Loading samples…</span>;
  return (
    <span role="status">
      {formatCount(total)} samples{selected >= 0 ? ` · #${formatCount(selected + 1)} selected` : ''}
    </span>
  );
}
