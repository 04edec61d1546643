// The Evaluation page in real Chromium (web mode) on runs of a tiny random
// InternLM-XComposer-2.5 folder: a benchmark evaluated through the service
// with the base model and with an adapter in the official IXC PEFT layout;
// the page lists both runs, compares them item by item and renders the
// attention-difference view (the global view's side x side grid per image)
// and Figure 6 for a two-image item.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IxcAppSession } from '../../electron/engine/generate/ixc-app-session';
import { startServer, type RunningServer } from '../../electron/server';
import { ensureRendererBuilt } from '../../electron/server/renderer-build';
import { createService, type Service } from '../../electron/service';
import { COMMANDS } from '../../shared/api';
import { writeRandomIxcAdapter } from '../helpers/ixc-adapter';
import { writeTinyIxc, type TinyIxc } from '../helpers/tiny-ixc';
import { photoLike, writeRgbPng } from '../unit/engine/vision/draw-images';
import { seriousViolations } from './support/axe-check';
import { launchChromium, screenshot } from './support/browser';

let dir: string;
let tiny: TinyIxc;
let service: Service;
let server: RunningServer;
let browser: Browser;
let page: Page;
let side: number;
const pageErrors: string[] = [];

async function waitJob(id: number): Promise<void> {
  for (;;) {
    const job = await service.handlers['jobs.get']({ id });
    if (job.state === 'done') return;
    if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`job ${id} ${job.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mia-ixc-e2e-'));
  const [, model, br] = await Promise.all([ensureRendererBuilt(), writeTinyIxc(51), launchChromium()]);
  tiny = model;
  browser = br;
  const data = path.join(dir, 'data');
  mkdirSync(data);
  const images = [
    await writeRgbPng(path.join(data, 'a.png'), photoLike(140, 70, 1), 140, 70),
    await writeRgbPng(path.join(data, 'b.png'), photoLike(60, 90, 2), 60, 90),
    await writeRgbPng(path.join(data, 'c.png'), photoLike(100, 100, 3), 100, 100),
  ];
  const bench = path.join(data, 'bench.jsonl');
  const items = [
    { id: 'q1', question: 'Which is wider?', options: ['first', 'second'], answer: 'A', images: images.slice(0, 2) },
    { id: 'q2', question: 'What is it?', options: ['a cat', 'a car'], answer: 'B', images: images.slice(2) },
    { id: 'q3', question: 'Which is taller?', options: ['first', 'second'], answer: 'B', images: images.slice(1) },
  ];
  writeFileSync(bench, items.map((o) => JSON.stringify(o)).join('\n'));
  const adapter = path.join(dir, 'adapter');
  const probe = await IxcAppSession.open({ modelDir: tiny.dir, ep: 'cpu' });
  try {
    side = probe.encoder.spec.side;
    await writeRandomIxcAdapter(adapter, probe.session.model.spec, { seed: 4 });
  } finally {
    await probe.close();
  }

  service = await createService({ configDir: path.join(dir, 'config') });
  await service.handlers['project.create']({ dir: path.join(dir, 'project'), name: 'IXC project' });
  await service.handlers['eval.bench.import']({ file: bench, name: 'ixc-shapes' });
  for (const a of [undefined, adapter]) {
    const request = COMMANDS['eval.run'].request.parse({
      model: tiny.dir,
      adapter: a,
      bench: 'ixc-shapes',
      maxNewTokens: 3,
      ep: 'cpu',
    });
    await waitJob((await service.handlers['eval.run'](request)).jobId);
  }
  server = await startServer({ service });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await service?.close();
  tiny?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the Evaluation page on IXC2.5 runs', () => {
  it('lists the base and adapter runs, compares them and renders the attention difference', async () => {
    const { runs } = await service.handlers['eval.runs']({});
    expect(runs.map((r) => r.answered)).toEqual([3, 3]);
    await page.goto(`${server.url}#/evaluation`);
    const table = page.getByRole('table', { name: 'Runs by benchmark' });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    const t = await service.handlers['eval.table']({});
    const pctOf = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const row of t.rows) await table.getByText(pctOf(row.cells[0]!.accuracy)).first().waitFor();

    const compare = page.getByRole('region', { name: 'Compare two runs' });
    await compare.getByLabel('Only items where one run is right and the other wrong').uncheck();
    await compare.getByRole('status', { name: 'Compared items' }).getByText('1–3 of 3 items').waitFor();
    // The two-image item (q1).
    const item = compare.getByRole('listitem').filter({ hasText: 'Which is wider?' });
    await item.getByRole('button', { name: 'Show attention difference' }).click();
    for (const n of [1, 2])
      await item.getByRole('img', { name: `Attention difference over Image${n}` }).waitFor({ timeout: 60_000 });
    const fig = item.getByTestId('figure6');
    await expect
      .poll(() => fig.evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth), {
        timeout: 10_000,
      })
      .toBeGreaterThan(300);
    // The view draws what the API returns: the global view's side x side grid per image.
    const itemId = (await service.handlers['eval.items']({ run: runs[0]!.id, offset: 0, limit: 10 })).items.find(
      (i) => i.index === 'q1',
    )!.itemId;
    const diff = await service.handlers['eval.attention.diff']({ a: runs[0]!.id, b: runs[1]!.id, itemId });
    expect(diff.side).toBe(side);
    diff.images.forEach((im) => expect(im.diff).toHaveLength(side * side));
    await screenshot(page, 'ixc-evaluation');
    expect(await seriousViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
