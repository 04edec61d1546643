// The demo world generator's speed (issue 14, item 1): scenes rendered and
// PNG-encoded per second, and whole worlds written by `writeWorld` at the
// demo's size and at a large size (streamed: peak RSS should not grow with
// the number of training samples).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderPng } from '../electron/pipeline/demo-world/render';
import { writeWorld } from '../electron/pipeline/demo-world/write';
import { allScenes } from '../electron/pipeline/demo-world/world';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

/** Passes over the 720 scenes: 2160 images. */
const RENDER_PASSES = 3;
const SIZES = [
  { train: 10_000, bench: 400 },
  { train: 200_000, bench: 2_000 },
];

async function renderRate(): Promise<number> {
  const scenes = allScenes();
  const start = performance.now();
  for (let p = 0; p < RENDER_PASSES; p++) for (const s of scenes) await renderPng(s);
  return (scenes.length * RENDER_PASSES) / ((performance.now() - start) / 1000);
}

export async function run(): Promise<BenchTable> {
  const rows: (string | number)[][] = [];
  const rate = await renderRate();
  rows.push(['render + PNG encode, images/s (one at a time)', rate, `${Math.round(rate * 60)} images/min`]);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-world-'));
  try {
    for (const size of SIZES) {
      const out = path.join(tmp, `w${size.train}`);
      const start = performance.now();
      const w = await writeWorld({ out, seed: 1, mcqShare: 0.5, ...size });
      const seconds = (performance.now() - start) / 1000;
      const mib = ((await stat(w.train.file)).size + (await stat(w.bench.file)).size) / 2 ** 20;
      rows.push([
        `world: ${size.train} train samples, ${size.bench} + ${size.bench} bench items, s`,
        seconds,
        `${Math.round(size.train / seconds)} samples/s; ${w.train.images + w.bench.images} images; ${mib.toFixed(1)} MiB JSON + TSV; peak RSS ${Math.round(peakRssMiB())} MiB`,
      ]);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return {
    columns: ['case', 'value', 'notes'],
    rows,
    notes: [
      'The world has 720 distinct images, so a world writes at most 720 PNGs however many samples it holds.',
      'Peak RSS is of the whole bench process, cumulative over the rows.',
    ],
  };
}
