// The label rasterizer against exact areas (the independent oracle for
// coverage): polygons whose pixel coverage is known in closed form, and the
// bundled font's glyphs drawn without spilling outside their image.
import { describe, expect, it } from 'vitest';
import { blendLabel, renderLabel } from '../../../electron/pipeline/composite/label';
import { Coverage } from '../../../electron/pipeline/composite/font/rasterize';

function polygon(cov: Coverage, pts: [number, number][]): void {
  pts.forEach(([x0, y0], i) => {
    const [x1, y1] = pts[(i + 1) % pts.length]!;
    cov.line(x0, y0, x1, y1);
  });
}

describe('coverage rasterizer', () => {
  it('a pixel-aligned square is fully covered inside and empty outside', () => {
    const cov = new Coverage(8, 8);
    polygon(cov, [
      [2, 2],
      [6, 2],
      [6, 6],
      [2, 6],
    ]);
    const a = cov.toAlpha();
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) expect(a[y * 8 + x]).toBe(x >= 2 && x < 6 && y >= 2 && y < 6 ? 255 : 0);
  });

  it('half-pixel edges give half coverage, corners a quarter', () => {
    const cov = new Coverage(8, 8);
    polygon(cov, [
      [1.5, 1.5],
      [4.5, 1.5],
      [4.5, 4.5],
      [1.5, 4.5],
    ]);
    const a = cov.toAlpha();
    expect(a[1 * 8 + 1]).toBe(Math.round(0.25 * 255));
    expect(a[1 * 8 + 2]).toBe(Math.round(0.5 * 255));
    expect(a[2 * 8 + 2]).toBe(255);
  });

  it('total coverage equals the area of a triangle and of a quadratic curve shape', () => {
    const cov = new Coverage(20, 20);
    polygon(cov, [
      [1.3, 2.1],
      [17.7, 5.4],
      [6.2, 18.9],
    ]);
    const area = Math.abs((17.7 - 1.3) * (18.9 - 2.1) - (6.2 - 1.3) * (5.4 - 2.1)) / 2;
    const sum = cov.toAlpha().reduce((s, v) => s + v, 0) / 255;
    expect(sum).toBeCloseTo(area, 0);
    // Parabolic segment from (2,10) via control (10,2) to (18,10), closed by the chord: area = 2/3 * base * height.
    const q = new Coverage(20, 20);
    q.quad(2, 10, 10, 2, 18, 10);
    q.line(18, 10, 2, 10);
    const qs = q.toAlpha().reduce((s, v) => s + v, 0) / 255;
    expect(qs).toBeCloseTo((2 / 3) * 16 * 4, 0);
  });
});

describe('labels from the bundled font', () => {
  it('keep glyphs with a negative left side bearing inside the image', () => {
    const label = renderLabel('jÅj', 36);
    const cols = new Array<number>(label.width).fill(0);
    for (let y = 0; y < label.height; y++)
      for (let x = 0; x < label.width; x++) cols[x]! += label.alpha[y * label.width + x]!;
    expect(cols[0]).toBe(0);
    expect(cols[label.width - 1]).toBe(0);
    expect(cols.reduce((s, v) => s + v, 0)).toBeGreaterThan(0);
  });

  it('blend draws ink at the pen position and refuses text the font cannot draw', () => {
    const canvas = new Uint8Array(200 * 60 * 3).fill(255);
    blendLabel(canvas, 200, renderLabel('Image1', 36), 20, 0);
    let minX = 200;
    for (let y = 0; y < 60; y++)
      for (let x = 0; x < 200; x++) if (canvas[(y * 200 + x) * 3]! < 128) minX = Math.min(minX, x);
    expect(minX).toBeGreaterThanOrEqual(20);
    expect(minX).toBeLessThanOrEqual(25);
    expect(() => renderLabel('图', 36)).toThrow(/no glyph for '图'/);
  });
});
