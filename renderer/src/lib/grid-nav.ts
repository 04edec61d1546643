// Keyboard movement in the sample grid: arrows move the selection by one cell
// or one row, Home/End jump to the ends, PageUp/PageDown move by a screenful.

export type NavKey = 'ArrowLeft' | 'ArrowRight' | 'ArrowUp' | 'ArrowDown' | 'Home' | 'End' | 'PageUp' | 'PageDown';

export function isNavKey(key: string): key is NavKey {
  return ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown'].includes(key);
}

/**
 * The index selected after `key`; -1 (nothing selected) moves to the first
 * item. `pageRows` is how many rows fit on screen. Always within [0, total).
 */
export function moveSelection(current: number, key: NavKey, columns: number, total: number, pageRows: number): number {
  if (total <= 0) return -1;
  if (current < 0) return 0;
  const step: Record<NavKey, number> = {
    ArrowLeft: -1,
    ArrowRight: 1,
    ArrowUp: -columns,
    ArrowDown: columns,
    PageUp: -columns * Math.max(1, pageRows),
    PageDown: columns * Math.max(1, pageRows),
    Home: -Infinity,
    End: Infinity,
  };
  const next = current + step[key];
  // A vertical move past the edge stays in place rather than wrapping to another column.
  if ((key === 'ArrowUp' || key === 'ArrowDown') && (next < 0 || next >= total)) return current;
  return Math.min(total - 1, Math.max(0, next));
}

/** How many columns of `cellWidth` fit in `width` (at least one). */
export function columnsFor(width: number, cellWidth: number): number {
  return Math.max(1, Math.floor(width / cellWidth));
}
