// Our composites against an independent Pillow implementation of the same
// geometry (test/reference/composite_ref.py): same canvas, pixels within
// resampling and anti-aliasing differences, labels in the same place.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLED_FONT } from '../../../electron/pipeline/composite/label';
import { renderGrid } from '../../../electron/pipeline/composite/render-grid';
import { renderPip } from '../../../electron/pipeline/composite/render-pip';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import { makeImage, tempDir } from './fixture-images';

const g = DEFAULT_SETTINGS.geometry;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
let dir: string;
let files: string[];

async function pillow(jobs: { kind: 'grid' | 'pip'; images: string[]; out: string }[]): Promise<void> {
  const child = execFile(python, [path.join(root, 'test/reference/composite_ref.py')]);
  child.stdin?.end(
    JSON.stringify({
      tile: g.tileSize,
      margin: g.margin,
      label_offset: g.labelOffsetX,
      font: BUNDLED_FONT,
      font_px: g.labelFontPx,
      pip_scale: g.pipScale,
      jobs,
    }),
  );
  await new Promise<void>((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`composite_ref.py exited ${code}`)))),
  );
}

async function rgb(file: string) {
  return sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

/** Mean absolute difference over a rectangle of two same-sized RGB buffers. */
function meanAbsDiff(
  a: Buffer,
  b: Buffer,
  width: number,
  r: { x: number; y: number; width: number; height: number },
): number {
  let s = 0;
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let i = (y * width + r.x) * 3; i < (y * width + r.x + r.width) * 3; i++)
      s += Math.abs((a[i] as number) - (b[i] as number));
  }
  return s / (r.width * r.height * 3);
}

/** Bounding box of dark pixels (< 128) and total darkness in a rectangle. */
function ink(data: Buffer, width: number, r: { x: number; y: number; width: number; height: number }) {
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity, mass: 0 };
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x; x < r.x + r.width; x++) {
      const v = data[(y * width + x) * 3] as number;
      box.mass += 255 - v;
      if (v < 128)
        Object.assign(box, {
          x0: Math.min(box.x0, x),
          y0: Math.min(box.y0, y),
          x1: Math.max(box.x1, x),
          y1: Math.max(box.y1, y),
        });
    }
  }
  return box;
}

beforeAll(async () => {
  dir = await tempDir();
  const sizes: [number, number][] = [
    [640, 480],
    [480, 640],
    [300, 300],
    [1000, 250],
    [640, 480],
    [200, 120],
    [640, 480],
    [500, 700],
    [640, 480],
  ];
  files = await Promise.all(sizes.map(([w, h], i) => makeImage(dir, `o${i}.${i % 2 ? 'png' : 'jpg'}`, w, h, i)));
});

describe('composites against the Pillow reference', () => {
  it('grids of 2, 3, 4, 6 and 9 images match in size, tiles and labels', async () => {
    const counts = [2, 3, 4, 6, 9];
    const ours = await Promise.all(
      counts.map((n) =>
        renderGrid(
          {
            sourceSampleId: 's',
            images: files.slice(0, n).map((f, i) => ({ id: String(i), file: f })),
            targetIndex: 1,
          },
          g,
          path.join(dir, 'cache'),
        ),
      ),
    );
    await pillow(counts.map((n) => ({ kind: 'grid', images: files.slice(0, n), out: path.join(dir, `ref${n}.png`) })));
    for (const [k, n] of counts.entries()) {
      const a = await rgb(ours[k]!.path);
      const b = await rgb(path.join(dir, `ref${n}.png`));
      expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
      for (const tile of ours[k]!.provenance.tiles) {
        expect(meanAbsDiff(a.data, b.data, a.info.width, tile)).toBeLessThan(1.5);
        const strip = { x: tile.x, y: tile.y - g.margin, width: g.tileSize, height: g.margin };
        const inkA = ink(a.data, a.info.width, strip);
        const inkB = ink(b.data, b.info.width, strip);
        for (const side of ['x0', 'y0', 'x1', 'y1'] as const)
          expect(
            Math.abs(inkA[side] - inkB[side]),
            `${n} images, label of tile at ${tile.x},${tile.y}: ${side}`,
          ).toBeLessThanOrEqual(2);
        expect(inkA.mass / inkB.mass).toBeGreaterThan(0.9);
        expect(inkA.mass / inkB.mass).toBeLessThan(1.1);
      }
    }
  });

  it('pic-in-pic on wide, tall and square hosts matches', async () => {
    const cases: [number, number][] = [
      [3, 2],
      [1, 0],
      [2, 7],
    ];
    const ours = await Promise.all(
      cases.map(([h, i]) =>
        renderPip(
          {
            sourceSampleId: 's',
            images: [
              { id: 'h', file: files[h]! },
              { id: 'i', file: files[i]! },
            ],
            targetIndex: 2,
          },
          g,
          path.join(dir, 'cache'),
        ),
      ),
    );
    await pillow(
      cases.map(([h, i], k) => ({ kind: 'pip', images: [files[h]!, files[i]!], out: path.join(dir, `pip${k}.png`) })),
    );
    for (const [k, r] of ours.entries()) {
      const a = await rgb(r.path);
      const b = await rgb(path.join(dir, `pip${k}.png`));
      expect([a.info.width, a.info.height]).toEqual([b.info.width, b.info.height]);
      expect(meanAbsDiff(a.data, b.data, a.info.width, r.provenance.tiles[1]!)).toBeLessThan(1.5);
      expect(meanAbsDiff(a.data, b.data, a.info.width, r.provenance.tiles[0]!)).toBeLessThan(1);
    }
  });
});
