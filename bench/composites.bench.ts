// Composites per second: our grid collages (sharp decode + LANCZOS resize,
// our label rasterizer, PNG into a cache dir) against the Pillow reference
// (test/reference/composite_ref.py) doing the same work on the same 640x480
// JPEGs in the same run. Goal: at least 2x.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { BUNDLED_FONT } from '../electron/pipeline/composite/label';
import { renderGrid } from '../electron/pipeline/composite/render-grid';
import { DEFAULT_SETTINGS } from '../shared/pipeline/defaults';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
const g = DEFAULT_SETTINGS.geometry;
const COUNTS = [2, 3, 4, 6, 9];
const REPEAT = 6;
/** Ours and Pillow alternate this many times per case; the best round of each counts (the CI box is shared). */
const ROUNDS = 3;

/** A 640x480 photo-like JPEG: gradients plus seeded texture, so JPEG decode does real work. */
async function photo(dir: string, i: number): Promise<string> {
  const w = 640;
  const h = 480;
  const data = Buffer.alloc(w * h * 3);
  let s = i * 2654435761;
  for (let p = 0; p < w * h; p++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const x = p % w;
    const y = Math.floor(p / w);
    data[p * 3] = (x / 2.5 + (s & 31)) & 255;
    data[p * 3 + 1] = (y / 2 + i * 40 + ((s >> 5) & 31)) & 255;
    data[p * 3 + 2] = ((x + y) / 4 + ((s >> 10) & 31)) & 255;
  }
  const file = path.join(dir, `photo${i}.jpg`);
  await sharp(data, { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality: 90 })
    .toFile(file);
  return file;
}

function pillow(jobs: { kind: 'grid'; images: string[]; out: string }[], repeat: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = execFile(python, [path.join(root, 'test/reference/composite_ref.py')], (err, stdout) => {
      if (err) reject(err);
      else resolve((JSON.parse(stdout) as { seconds: number }).seconds);
    });
    child.stdin?.end(
      JSON.stringify({
        tile: g.tileSize,
        margin: g.margin,
        label_offset: g.labelOffsetX,
        font: BUNDLED_FONT,
        font_px: g.labelFontPx,
        pip_scale: g.pipScale,
        repeat,
        jobs,
      }),
    );
  });
}

export async function run(): Promise<BenchTable> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-composites-'));
  try {
    const files = await Promise.all(Array.from({ length: 9 }, (_, i) => photo(dir, i)));
    const rows: (string | number)[][] = [];
    let oursTotal = 0;
    let refTotal = 0;
    for (const n of COUNTS) {
      const images = files.slice(0, n).map((file, i) => ({ id: String(i), file }));
      await renderGrid({ sourceSampleId: 'warm-up', images, targetIndex: 1 }, g, path.join(dir, 'warm'));
      let ours = Infinity;
      let ref = Infinity;
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = performance.now();
        for (let r = 0; r < REPEAT; r++)
          await renderGrid({ sourceSampleId: 'b', images, targetIndex: 1 }, g, path.join(dir, `ours${round}-${r}`));
        ours = Math.min(ours, (performance.now() - t0) / 1000);
        ref = Math.min(
          ref,
          await pillow([{ kind: 'grid', images: files.slice(0, n), out: path.join(dir, `ref${n}.png`) }], REPEAT),
        );
      }
      oursTotal += ours;
      refTotal += ref;
      rows.push([`grid of ${n}`, REPEAT / ours, REPEAT / ref, ref / ours]);
    }
    rows.push([
      'all sizes',
      (REPEAT * COUNTS.length) / oursTotal,
      (REPEAT * COUNTS.length) / refTotal,
      refTotal / oursTotal,
    ]);
    return {
      columns: ['case', 'ours composites/s', 'Pillow composites/s', 'speed-up'],
      rows,
      notes: [
        `${REPEAT} composites per case, sequential, 640x480 JPEG inputs, PNG output (compression 6) to disk, labels drawn from the bundled DejaVu Sans`,
        `best of ${ROUNDS} alternating rounds for each side (shared machine: load varies between runs)`,
        `Pillow timed inside Python (interpreter start excluded); sharp concurrency ${sharp.concurrency()}`,
        `peak RSS ${peakRssMiB().toFixed(0)} MiB`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
