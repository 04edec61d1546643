// IXC2.5's HD transform (decode, crop grid, Pillow-port bilinear resize, padding,
// normalisation, crops and the torch-exact bicubic global view): ms per image
// against the PIL + torch reference (test/reference/ixc_hd_ref.py, timed inside
// Python) on the same PNGs in the same run.

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hdTransformImage } from '../electron/engine/vision';
import { runReference } from '../test/helpers/reference';
import { photoLike, tempDir, writeRgbPng } from '../test/unit/engine/vision/draw-images';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const REPEAT = 3;
const CASES = [
  { w: 336, h: 336, hd: 24 },
  { w: 800, h: 600, hd: 6 },
  { w: 1920, h: 1080, hd: 6 },
  { w: 1080, h: 1920, hd: 24 },
  { w: 3000, h: 2000, hd: 24 },
];

export async function run(): Promise<BenchTable> {
  const dir = tempDir('ixc-hd-bench-');
  const images = await Promise.all(
    CASES.map((c, i) => writeRgbPng(join(dir, `img${i}.png`), photoLike(c.w, c.h, i + 1), c.w, c.h)),
  );
  const items = CASES.map((c, i) => ({ name: `img${i}`, image: images[i], hd_num: c.hd }));
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ repeat: REPEAT, items }));
  const ref = runReference('ixc_hd_ref.py', ['pixels', join(dir, 'job.json')]);
  const seconds = ref.config['seconds'] as number[];
  const rows: (string | number)[][] = [];
  for (const [i, c] of CASES.entries()) {
    const image = images[i] as string;
    let grid = '';
    const times: number[] = [];
    for (let r = 0; r <= REPEAT; r++) {
      const t = performance.now();
      const out = await hdTransformImage(image, c.hd);
      if (r > 0) times.push(performance.now() - t); // the first run warms the JIT up
      grid = `${out.geometry.rows}x${out.geometry.cols}`;
    }
    times.sort((a, b) => a - b);
    const ours = times[Math.floor(times.length / 2)] as number;
    const base = (seconds[i] as number) * 1000;
    rows.push([`${c.w}x${c.h} hd ${c.hd}`, grid, base, ours, base / ours]);
  }
  rmSync(dir, { recursive: true, force: true });
  return {
    columns: ['image', 'grid', 'PIL + torch ms', 'ours ms', 'speed-up'],
    rows,
    notes: [
      `median of ${REPEAT} runs per image, PNG read + decode + HD transform; the reference is timed inside Python (interpreter start excluded)`,
      'outputs are bit-identical (test/unit/engine/vision/hd-transform.test.ts)',
      `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
    ],
  };
}
