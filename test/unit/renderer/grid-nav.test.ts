import { describe, expect, it } from 'vitest';
import { columnsFor, isNavKey, moveSelection } from '../../../renderer/src/lib/grid-nav';

describe('grid keyboard navigation', () => {
  // 4 columns, 10 items: rows [0..3] [4..7] [8, 9]
  const move = (from: number, key: Parameters<typeof moveSelection>[1]) => moveSelection(from, key, 4, 10, 2);

  it('selects the first item on the first key press', () => {
    expect(move(-1, 'ArrowDown')).toBe(0);
    expect(moveSelection(-1, 'ArrowDown', 4, 0, 2)).toBe(-1);
  });

  it('moves by one cell sideways and one row vertically', () => {
    expect(move(5, 'ArrowRight')).toBe(6);
    expect(move(5, 'ArrowLeft')).toBe(4);
    expect(move(5, 'ArrowDown')).toBe(9);
    expect(move(5, 'ArrowUp')).toBe(1);
  });

  it('stays put at vertical edges and clamps at the ends', () => {
    expect(move(1, 'ArrowUp')).toBe(1);
    expect(move(7, 'ArrowDown')).toBe(7);
    expect(move(0, 'ArrowLeft')).toBe(0);
    expect(move(9, 'ArrowRight')).toBe(9);
    expect(move(5, 'Home')).toBe(0);
    expect(move(5, 'End')).toBe(9);
  });

  it('moves a screenful with PageDown and PageUp', () => {
    expect(move(1, 'PageDown')).toBe(9);
    expect(move(9, 'PageUp')).toBe(1);
    expect(move(3, 'PageUp')).toBe(0);
  });

  it('knows its keys and fits at least one column', () => {
    expect(isNavKey('ArrowUp')).toBe(true);
    expect(isNavKey('Enter')).toBe(false);
    expect(columnsFor(1000, 176)).toBe(5);
    expect(columnsFor(0, 176)).toBe(1);
  });
});
