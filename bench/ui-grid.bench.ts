// The dataset grid at 100k samples in headless Chromium, served by the local
// web mode over the real service: frame intervals while scrolling (against
// idle frames measured in the same page), time until the cells of a random
// jump are filled, and how many cells the DOM holds (virtualization).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { makeDemoDataset } from '../electron/io/demo-dataset';
import { startServer } from '../electron/server';
import { createService } from '../electron/service';
import type { BenchTable } from './table';

const SAMPLES = 100_000;
const FRAMES = 240;
const JUMPS = 20;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

// In-page code as strings: tsx (esbuild keepNames) would wrap functions passed to
// page.evaluate in a `__name` helper that does not exist in the page.
const FRAME_INTERVALS = `([frames, step]) => new Promise((resolve) => {
  const grid = document.querySelector('[role="grid"]');
  const intervals = [];
  let maxCells = 0;
  let last = performance.now();
  const tick = (t) => {
    intervals.push(t - last);
    last = t;
    maxCells = Math.max(maxCells, grid.querySelectorAll('[role="gridcell"]').length);
    if (step > 0) grid.scrollTop += step;
    if (intervals.length < frames) requestAnimationFrame(tick);
    else resolve({ intervals: intervals.slice(1), maxCells });
  };
  requestAnimationFrame(tick);
})`;

const JUMP_LATENCY = `(fraction) => new Promise((resolve) => {
  const grid = document.querySelector('[role="grid"]');
  const start = performance.now();
  grid.scrollTop = fraction * (grid.scrollHeight - grid.clientHeight);
  const check = () => {
    const cells = grid.querySelectorAll('[role="gridcell"]');
    if (cells.length > 0 && grid.querySelectorAll('.cell-loading').length === 0) resolve(performance.now() - start);
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})`;

/** Frame intervals (ms) over `frames` animation frames; scrolls the grid by `step` px each frame. */
async function frameIntervals(
  page: Page,
  frames: number,
  step: number,
): Promise<{ intervals: number[]; maxCells: number }> {
  const fn = await page.evaluateHandle(FRAME_INTERVALS);
  return (await fn.evaluate(
    (f, args) => (f as unknown as (a: number[]) => Promise<unknown>)(args),
    [frames, step],
  )) as { intervals: number[]; maxCells: number };
}

/** Milliseconds from setting scrollTop to every visible cell showing its sample. */
async function jumpLatency(page: Page, fraction: number): Promise<number> {
  const fn = await page.evaluateHandle(JUMP_LATENCY);
  return (await fn.evaluate((f, x) => (f as unknown as (a: number) => Promise<unknown>)(x), fraction)) as number;
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mia-bench-grid-'));
  const service = await createService({ configDir: path.join(dir, 'config') });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const data = await makeDemoDataset(path.join(dir, 'data'), { samples: SAMPLES, images: 24, bad: false });
    await service.handlers['project.create']({ dir: path.join(dir, 'project') });
    const done = new Promise<void>((resolve) =>
      service.onEvent((e) => e.type === 'job.state' && e.state === 'done' && resolve()),
    );
    await service.handlers['dataset.import']({
      source: { kind: 'llava', file: data.file, imagesRoot: data.imagesRoot },
      abortOnProblem: false,
    });
    await done;
    const server = await startServer({ service });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const t0 = Date.now();
    await page.goto(server.url);
    await page.locator('.cell img').first().waitFor();
    const firstPaint = Date.now() - t0;

    const idle = await frameIntervals(page, FRAMES, 0);
    const flick = await frameIntervals(page, FRAMES, 100);
    const scroll = await frameIntervals(page, FRAMES, 600);
    const jumps: number[] = [];
    for (let i = 0; i < JUMPS; i++) jumps.push(await jumpLatency(page, ((i * 7919) % JUMPS) / JUMPS));
    await server.close();

    const p95Idle = quantile(idle.intervals, 0.95);
    const p95Scroll = quantile(scroll.intervals, 0.95);
    return {
      columns: ['case', 'p50 ms', 'p95 ms', 'max ms', 'ratio p95 vs idle'],
      rows: [
        ['idle frames (baseline)', quantile(idle.intervals, 0.5), p95Idle, Math.max(...idle.intervals), 1],
        [
          `frames while scrolling 100 px/frame (${FRAMES})`,
          quantile(flick.intervals, 0.5),
          quantile(flick.intervals, 0.95),
          Math.max(...flick.intervals),
          quantile(flick.intervals, 0.95) / p95Idle,
        ],
        [
          `frames while scrolling 600 px/frame (${FRAMES})`,
          quantile(scroll.intervals, 0.5),
          p95Scroll,
          Math.max(...scroll.intervals),
          p95Scroll / p95Idle,
        ],
        [
          `random jump until all visible cells filled (${JUMPS})`,
          quantile(jumps, 0.5),
          quantile(jumps, 0.95),
          Math.max(...jumps),
          '-',
        ],
        ['first page load until the first thumbnail', firstPaint, '-', '-', '-'],
      ],
      notes: [
        `${SAMPLES.toLocaleString('en-US')} samples, viewport 1280x800, headless Chromium (--disable-gpu); pages of 200 samples fetched on demand.`,
        `Grid cells in the DOM while scrolling: at most ${Math.max(flick.maxCells, scroll.maxCells)} (of ${SAMPLES.toLocaleString('en-US')}).`,
        `Load average during the run: ${loadavg()[0]!.toFixed(1)} on this machine's shared cores (frame times rise with other processes).`,
      ],
    };
  } finally {
    await browser.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
