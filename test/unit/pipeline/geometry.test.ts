import { describe, expect, it } from 'vitest';
import { fitInside, gridCanvas, gridTiles, pipInset } from '../../../electron/pipeline/composite/geometry';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';

const g = DEFAULT_SETTINGS.geometry;

describe('grid geometry', () => {
  it.each([
    [2, 936, 488],
    [3, 1424, 488],
    [4, 936, 976],
    [6, 1424, 976],
    [9, 1424, 1464],
  ])('%i images: canvas %ix%i', (n, w, h) => {
    expect(gridCanvas(n, g)).toEqual({ width: w, height: h });
  });

  it('places slots row by row with 40 px gaps and a label strip above each row', () => {
    const tiles = gridTiles(new Array(6).fill({ width: 448, height: 448 }), g);
    expect(tiles.map((t) => [t.slot.x, t.slot.y])).toEqual([
      [0, 40],
      [488, 40],
      [976, 40],
      [0, 528],
      [488, 528],
      [976, 528],
    ]);
    expect(tiles.map((t) => t.label)).toEqual(tiles.map((t) => ({ x: t.slot.x + 20, y: t.slot.y - 40 })));
    expect(tiles.map((t) => t.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fits each image into the slot at its top-left, keeping aspect', () => {
    const [wide, tall, small] = gridTiles(
      [
        { width: 640, height: 480 },
        { width: 300, height: 900 },
        { width: 100, height: 50 },
      ],
      g,
    );
    expect(wide!.content).toEqual({ x: 0, y: 40, width: 448, height: 336 });
    expect(tall!.content).toEqual({ x: 488, y: 40, width: 149, height: 448 });
    expect(small!.content).toEqual({ x: 976, y: 40, width: 448, height: 224 });
  });

  it('keeps every slot inside the canvas for every size', () => {
    for (const n of [2, 3, 4, 6, 9]) {
      const c = gridCanvas(n, g);
      for (const t of gridTiles(new Array(n).fill({ width: 500, height: 300 }), g)) {
        expect(t.slot.x + t.slot.width).toBeLessThanOrEqual(c.width);
        expect(t.slot.y + t.slot.height).toBeLessThanOrEqual(c.height);
        expect(t.label.y).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('rejects counts without a layout', () => {
    expect(() => gridCanvas(5, g)).toThrow(/no grid layout for 5/);
  });
});

describe('pic-in-pic geometry', () => {
  it('wide host: height limits a square inset, centred', () => {
    expect(pipInset({ width: 1000, height: 500 }, { width: 400, height: 400 }, g)).toEqual({
      x: 325,
      y: 75,
      width: 350,
      height: 350,
    });
  });
  it('tall host: width limits a square inset, centred', () => {
    expect(pipInset({ width: 500, height: 1000 }, { width: 400, height: 400 }, g)).toEqual({
      x: 75,
      y: 325,
      width: 350,
      height: 350,
    });
  });
  it('square host: a wide inset takes 70% of the width', () => {
    expect(pipInset({ width: 600, height: 600 }, { width: 800, height: 400 }, g)).toEqual({
      x: 90,
      y: 195,
      width: 420,
      height: 210,
    });
  });
  it('fitInside never exceeds the box', () => {
    expect(fitInside({ width: 3, height: 1000 }, { width: 10, height: 10 })).toEqual({ width: 1, height: 10 });
  });
});
