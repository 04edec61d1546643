// Attention ratios against hand-computed maps and against numpy's
// array_split (the reference's block rule) as an independent oracle.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  centreSquare,
  gridRatio,
  pipRatio,
  sequenceRatio,
  splitSizes,
} from '../../../electron/pipeline/attention/ratio';
import { createRng } from '../../../electron/pipeline/random';

const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';

function mapOf(side: number, f: (y: number, x: number) => number): Float64Array {
  const m = new Float64Array(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) m[y * side + x] = f(y, x);
  return m;
}

describe('sequence ratio', () => {
  it('is mean(target) / sum of means', () => {
    expect(sequenceRatio([0.2, 0.6, 0.2], 2)).toBeCloseTo(0.6);
    expect(sequenceRatio([1, 3], 1)).toBeCloseTo(0.25);
    expect(Number.isNaN(sequenceRatio([0, 0], 1))).toBe(true);
    expect(() => sequenceRatio([1, 1], 3)).toThrow(/Image3/);
  });
});

describe('grid ratio', () => {
  it('splits 24 rows evenly for 2x3 and picks the target block', () => {
    // 2x3 collage (1424x976): blocks are 12 rows x 8 columns.
    const map = mapOf(24, (y, x) => (y >= 12 && x >= 8 && x < 16 ? 1 : 0));
    expect(gridRatio(map, 24, { width: 1424, height: 976 }, 5)).toBeCloseTo(1);
    expect(gridRatio(map, 24, { width: 1424, height: 976 }, 4)).toBeCloseTo(0);
    expect(
      gridRatio(
        mapOf(24, () => 1),
        24,
        { width: 936, height: 488 },
        2,
      ),
    ).toBeCloseTo(0.5);
  });

  it('gives the first blocks the extra row/column when the grid does not divide', () => {
    expect(splitSizes(24, 5)).toEqual([5, 5, 5, 5, 4]);
    expect(splitSizes(27, 2)).toEqual([14, 13]);
    // 27x27 map (e.g. SigLIP 378/14) over a 3x3 collage: 9 per block; over 2 columns: 14 + 13.
    const ones = mapOf(27, () => 1);
    expect(gridRatio(ones, 27, { width: 936, height: 488 }, 1)).toBeCloseTo(14 / 27);
    expect(gridRatio(ones, 27, { width: 936, height: 488 }, 2)).toBeCloseTo(13 / 27);
  });

  it('agrees with numpy array_split blocks on random maps', () => {
    const rng = createRng(21);
    const cases = [
      { side: 24, canvas: { width: 1424, height: 1464 }, rows: 3, cols: 3 },
      { side: 26, canvas: { width: 1424, height: 976 }, rows: 2, cols: 3 },
      { side: 27, canvas: { width: 936, height: 976 }, rows: 2, cols: 2 },
      { side: 23, canvas: { width: 1424, height: 488 }, rows: 1, cols: 3 },
    ];
    const maps = cases.map((c) => Array.from({ length: c.side * c.side }, () => rng.next()));
    const script = `
import json, sys, numpy as np
cases = json.load(sys.stdin)
out = []
for c in cases:
    m = np.array(c["map"]).reshape(c["side"], c["side"])
    blocks = [b for rb in np.array_split(m, c["rows"], axis=0) for b in np.array_split(rb, c["cols"], axis=1)]
    out.append([float(b.sum() / m.sum()) for b in blocks])
print(json.dumps(out))`;
    const expected = JSON.parse(
      execFileSync(python, ['-c', script], {
        input: JSON.stringify(cases.map((c, i) => ({ ...c, map: maps[i] }))),
      }).toString(),
    ) as number[][];
    cases.forEach((c, i) => {
      for (let t = 1; t <= c.rows * c.cols; t++)
        expect(gridRatio(maps[i]!, c.side, c.canvas, t)).toBeCloseTo(expected[i]![t - 1]!, 12);
    });
  });

  it('rejects a map of the wrong size and a target outside the grid', () => {
    expect(() => gridRatio(new Float64Array(10), 24, { width: 936, height: 488 }, 1)).toThrow(/expected 24x24/);
    expect(() => gridRatio(new Float64Array(576), 24, { width: 936, height: 488 }, 3)).toThrow(/outside a 1x2 grid/);
  });
});

describe('pic-in-pic ratio', () => {
  it('sums the central 16x16 of 24x24', () => {
    expect(centreSquare(24, 16 / 24)).toEqual({ start: 4, size: 16 });
    const map = mapOf(24, (y, x) => (y >= 4 && y < 20 && x >= 4 && x < 20 ? 3 : 1));
    expect(pipRatio(map, 24)).toBeCloseTo((256 * 3) / (256 * 3 + 320));
  });
  it('scales the centre to other patch grids', () => {
    expect(centreSquare(27, 16 / 24)).toEqual({ start: 4, size: 18 });
    expect(centreSquare(32, 16 / 24)).toEqual({ start: 5, size: 21 });
    expect(
      pipRatio(
        mapOf(27, () => 1),
        27,
      ),
    ).toBeCloseTo(324 / 729);
  });
});
