// The Pairs and Thresholds pages at 100k pairs in headless Chromium over the
// local web mode and the real service (issue 11's benchmarks): key press (J)
// to the next pair painted in the focus view, frame intervals while the pairs
// grid scrolls (Performance API, requestAnimationFrame), and a threshold step
// (a key on the dragged line) to the updated kept count at 100k generations.
// The project is written by test/helpers/synthetic-pairs.ts (no images on
// disk, no attention maps: the images show as broken, which costs nothing).
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from 'playwright-core';
import { PROJECT_DB } from '../electron/store/project';
import { startServer } from '../electron/server';
import { createService } from '../electron/service';
import { writeSyntheticPairs } from '../test/helpers/synthetic-pairs';
import type { BenchTable } from './table';

const PAIRS = 100_000;
const PRESSES = 120;
const FRAMES = 240;
const STEPS = 60;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

// In-page code as strings (tsx's keepNames helper does not exist in the page).
/** Presses J `n` times, `gap` ms apart; each latency runs from the key event to the frame after the new pair is in the DOM. */
const NEXT_PAIR = `([n, gap]) => (async () => {
  const lat = [];
  const label = () => document.querySelector('article.pair-focus')?.getAttribute('aria-label');
  for (let k = 0; k < n; k++) {
    const before = label();
    const t0 = performance.now();
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true, cancelable: true }));
    await new Promise((res) => {
      const done = () => requestAnimationFrame(() => res());
      if (label() !== before) return done();
      const mo = new MutationObserver(() => { if (label() !== before) { mo.disconnect(); done(); } });
      mo.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label'] });
    });
    lat.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, gap));
  }
  return lat;
})()`;

const FRAME_INTERVALS = `([frames, step]) => new Promise((resolve) => {
  const grid = document.querySelector('[role="grid"]');
  const intervals = [];
  let maxRows = 0;
  let last = performance.now();
  const tick = (t) => {
    intervals.push(t - last);
    last = t;
    maxRows = Math.max(maxRows, grid.querySelectorAll('[role="row"]').length);
    if (step > 0) grid.scrollTop += step;
    if (intervals.length < frames) requestAnimationFrame(tick);
    else resolve({ intervals: intervals.slice(1), maxRows });
  };
  requestAnimationFrame(tick);
})`;

/** Steps the first threshold line `n` times with the arrow keys; each latency runs to the frame after the kept count changed. */
const THRESHOLD_STEP = `(n) => (async () => {
  const lat = [];
  const slider = document.querySelector('[role="slider"]');
  const kept = document.querySelector('[data-testid="kept-total"]');
  for (let k = 0; k < n; k++) {
    const before = slider.getAttribute('aria-valuenow');
    const t0 = performance.now();
    slider.dispatchEvent(new KeyboardEvent('keydown', { key: k % 20 < 10 ? 'ArrowLeft' : 'ArrowRight', bubbles: true, cancelable: true }));
    await new Promise((res) => {
      const check = () => slider.getAttribute('aria-valuenow') !== before;
      const done = () => requestAnimationFrame(() => res());
      if (check()) return done();
      const mo = new MutationObserver(() => { if (check()) { mo.disconnect(); done(); } });
      mo.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    lat.push(performance.now() - t0);
    if (!kept.textContent.startsWith('Kept')) throw new Error('no kept count');
    await new Promise((r) => setTimeout(r, 20));
  }
  return lat;
})()`;

async function inPage<T>(page: Page, source: string, arg: unknown): Promise<T> {
  const fn = await page.evaluateHandle(source);
  return (await fn.evaluate((f, a) => (f as unknown as (x: unknown) => Promise<unknown>)(a), arg)) as T;
}

export async function run(): Promise<BenchTable> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mia-bench-review-'));
  const projectDir = path.join(dir, 'project');
  const service = await createService({ configDir: path.join(dir, 'config') });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    await service.handlers['project.create']({ dir: projectDir });
    await service.handlers['project.close']({});
    const t0 = performance.now();
    writeSyntheticPairs(path.join(projectDir, PROJECT_DB), PAIRS, 11);
    const populateSec = (performance.now() - t0) / 1000;
    await service.handlers['project.open']({ dir: projectDir });
    const c0 = performance.now();
    await service.handlers['pipeline.select.curves']({});
    const curvesMs = performance.now() - c0;

    const server = await startServer({ service });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}#/pairs`);
    await page.locator('article.pair-focus').waitFor({ timeout: 60_000 });
    const paced = await inPage<number[]>(page, NEXT_PAIR, [PRESSES, 150]);
    const rapid = await inPage<number[]>(page, NEXT_PAIR, [PRESSES / 2, 0]);

    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    await page.locator('.pr-row:not(.pr-head):not(.pr-loading)').first().waitFor();
    const idle = await inPage<{ intervals: number[]; maxRows: number }>(page, FRAME_INTERVALS, [FRAMES, 0]);
    const scroll = await inPage<{ intervals: number[]; maxRows: number }>(page, FRAME_INTERVALS, [FRAMES, 300]);

    const l0 = performance.now();
    await page.getByRole('link', { name: 'Thresholds', exact: true }).click();
    await page.getByTestId('kept-total').getByText(/^Kept/).waitFor({ timeout: 60_000 });
    const thresholdsLoad = performance.now() - l0;
    const steps = await inPage<number[]>(page, THRESHOLD_STEP, STEPS);
    await server.close();

    const fps = (xs: number[]) => 1000 / quantile(xs, 0.5);
    return {
      columns: ['case', 'p50 ms', 'p95 ms', 'max ms', 'target'],
      rows: [
        [
          `J to next pair painted, 150 ms apart (${PRESSES})`,
          quantile(paced, 0.5),
          quantile(paced, 0.95),
          Math.max(...paced),
          'p95 < 50',
        ],
        [
          `J to next pair painted, held down (${PRESSES / 2})`,
          quantile(rapid, 0.5),
          quantile(rapid, 0.95),
          Math.max(...rapid),
          '-',
        ],
        [
          'grid idle frames (baseline)',
          quantile(idle.intervals, 0.5),
          quantile(idle.intervals, 0.95),
          Math.max(...idle.intervals),
          '-',
        ],
        [
          `grid frames scrolling 300 px/frame (${FRAMES}); median ${fps(scroll.intervals).toFixed(0)} fps`,
          quantile(scroll.intervals, 0.5),
          quantile(scroll.intervals, 0.95),
          Math.max(...scroll.intervals),
          '60 fps median',
        ],
        [
          `threshold step to updated kept count (${STEPS})`,
          quantile(steps, 0.5),
          quantile(steps, 0.95),
          Math.max(...steps),
          'p95 < 100',
        ],
        ['pipeline.select.curves at 100k generations (server)', curvesMs, '-', '-', '-'],
        ['Thresholds page open until the kept count shows', thresholdsLoad, '-', '-', '-'],
      ],
      notes: [
        `${PAIRS.toLocaleString('en-US')} pairs and generations (test/helpers/synthetic-pairs.ts, written in ${populateSec.toFixed(0)} s), viewport 1280x800, headless Chromium (--disable-gpu).`,
        'Latencies are measured in the page: from the key event to the animation frame after the DOM shows the new pair (or count).',
        `Pairs grid rows in the DOM while scrolling: at most ${scroll.maxRows} (of ${PAIRS.toLocaleString('en-US')}).`,
        `Load average during the run: ${loadavg()[0]!.toFixed(1)} on this machine's shared cores.`,
      ],
    };
  } finally {
    await browser.close();
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
