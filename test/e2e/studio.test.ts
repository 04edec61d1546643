// The studio's pages in real Chromium against the local web server and the
// real service, on a project prepared with a tiny random llava-hf model: the
// pages' navigation, the Pipeline page run stage by stage through its forms
// (augment, respond with the model inspected, select, export) with the counts
// checked against the API, layouts at 1280 and 900 px and in dark mode, and
// axe-core with no serious or critical violation on each page.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoDataset } from '../../electron/io/demo-dataset';
import { startServer, type RunningServer } from '../../electron/server';
import { ensureRendererBuilt } from '../../electron/server/renderer-build';
import { createService, type Service } from '../../electron/service';
import { writeTinyLlava } from '../helpers/tiny-llava';
import { seriousViolations } from './support/axe-check';
import { launchChromium, screenshot } from './support/browser';

const SAMPLES = 16;
const AUGMENTED = 12;
/** The navigation's links, in order, as issue 11 names them. */
// The six project pages, exactly, in the order.
const NAV = ['Dataset', 'Pipeline', 'Pairs', 'Thresholds', 'Training', 'Evaluation'];

let dir: string;
let modelDir: string;
let imagesRoot: string;
let service: Service;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mia-studio-'));
  const [, data, model, br] = await Promise.all([
    ensureRendererBuilt(),
    makeDemoDataset(path.join(dir, 'data'), { samples: SAMPLES, images: 12, bad: false }),
    writeTinyLlava({ seed: 8, textLayers: 2 }, path.join(dir, 'model')),
    launchChromium(),
  ]);
  modelDir = model.dir;
  imagesRoot = data.imagesRoot;
  browser = br;
  service = await createService({ configDir: path.join(dir, 'config') });
  await service.handlers['project.create']({ dir: path.join(dir, 'project'), name: 'Studio project' });
  const { jobId } = await service.handlers['dataset.import']({
    source: { kind: 'llava', file: data.file, imagesRoot: data.imagesRoot },
    abortOnProblem: false,
  });
  for (;;) {
    const job = await service.handlers['jobs.get']({ id: jobId });
    if (job.state === 'done') break;
    if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`import ${job.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  server = await startServer({ service });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The stage card named `title`. */
const stage = (title: string) => page.getByRole('region', { name: title, exact: false });
const stageState = (title: string) => page.getByRole('status', { name: `${title} state` });

async function expectAccessible(name: string): Promise<void> {
  expect(await seriousViolations(page), name).toEqual([]);
}

describe('studio pages in Chromium', () => {
  it('names the pages in the navigation landmark in the issue’s order', async () => {
    await page.goto(`${server.url}#/pipeline`);
    const nav = page.getByRole('navigation', { name: 'Pages' });
    await nav.getByRole('link', { name: 'Pipeline', exact: true }).waitFor();
    const names = (await nav.getByRole('link').allTextContents()).map((n) => n.trim());
    // Exactly the six project pages, in the order.
    expect(names).toEqual(NAV);
    expect(await nav.getByRole('link', { name: 'Pipeline', exact: true }).getAttribute('aria-current')).toBe('page');
    // Keyboard first: Alt+number opens the page of that place in the navigation.
    await page.keyboard.press('Alt+1');
    await page.waitForURL((u) => u.hash === '#/dataset');
    await page.keyboard.press(`Alt+${names.indexOf('Pipeline') + 1}`);
    await page.waitForURL((u) => u.hash === '#/pipeline');
  });

  it('hints at the next step on the Dataset page after the import, with the import report named as its summary', async () => {
    await page.goto(`${server.url}#/dataset`);
    const hint = page.getByLabel('Next step');
    await hint.getByText(`${SAMPLES} samples imported. Next step: build multi-image questions from them.`).waitFor();
    expect(await page.getByLabel('Last import').textContent()).toBe(
      `Last import: ${SAMPLES} entries read: ${SAMPLES} imported, 0 flagged, 0 rejected`,
    );
    await screenshot(page, 'studio-0-dataset-hint');
    await hint.getByRole('link', { name: 'Augment on the Pipeline page' }).click();
    await page.waitForURL((u) => u.hash === '#/pipeline');
  });

  it('shows every stage in order with its state, import done and the next stage ready', async () => {
    await stageState('Export').waitFor();
    const headings = await page.locator('.stage h2').allTextContents();
    expect(headings.map((h) => h.replace(/^\d+\s*/, ''))).toEqual([
      'Import',
      'Augment',
      'Respond',
      'Select',
      'Review',
      'Train',
      'Evaluate',
      'Export',
    ]);
    await expect.poll(() => stageState('Import').textContent()).toBe('Done');
    expect(await stageState('Augment').textContent()).toBe('Ready to start');
    expect(await stageState('Respond').textContent()).toBe('Waiting for the step before');
    expect(await stage('Import').getByLabel('Import counts').textContent()).toContain(`${SAMPLES} samples`);
    // Every field explains itself: its description is the line under it.
    const seed = stage('Augment').getByLabel('Seed', { exact: true });
    expect(await seed.inputValue()).toBe('0');
    const described = await seed.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${described}"]`).textContent()).toMatch(/same seed/);
    await screenshot(page, 'studio-1-pipeline');
    await expectAccessible('pipeline page');
  });

  it('augments from the form and shows the counts the API reports', async () => {
    const card = stage('Augment');
    await card.getByLabel('How many').fill(String(AUGMENTED));
    await card.getByRole('button', { name: 'Start augmenting' }).click();
    await expect.poll(() => stageState('Augment').textContent(), { timeout: 60_000 }).toBe('Done');
    const overview = await service.handlers['pipeline.overview']({});
    expect(overview.augmented.total).toBe(AUGMENTED);
    const { sequence, grid, pip } = overview.augmented.byFormat;
    await card
      .getByLabel('Augment counts')
      .getByText(`${AUGMENTED} augmented samples (${sequence} sequence, ${grid} grid, ${pip} pic-in-pic)`)
      .waitFor();
    expect(await stageState('Respond').textContent()).toBe('Ready to start');
  });

  it('browses the augmented samples and their composites on the Dataset page', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Dataset' }).click();
    await page.getByRole('tab', { name: 'Augmented' }).click();
    const view = page.getByRole('region', { name: 'Augmented samples' });
    await view
      .getByRole('status', { name: 'Augmented count' })
      .getByText(`1–${AUGMENTED} of ${AUGMENTED} augmented samples`)
      .waitFor();
    const { items } = await service.handlers['pipeline.augmented']({ offset: 0, limit: 100 });
    expect(await view.getByRole('listitem').count()).toBe(AUGMENTED);
    const composite = items.find((a) => a.format !== 'sequence');
    const sequence = items.find((a) => a.format === 'sequence');
    if (composite !== undefined) {
      const card = view.getByRole('listitem', { name: new RegExp(`^Augmented sample ${composite.id}:`) });
      const img = card.getByRole('img');
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0)).toBe(true);
    }
    if (sequence !== undefined) {
      const card = view.getByRole('listitem', { name: new RegExp(`^Augmented sample ${sequence.id}:`) });
      expect(await card.getByRole('img').count()).toBe(sequence.imageCount);
      await card.getByText(`Image${sequence.targetIndex} (target)`).waitFor();
    }
    await view.getByRole('combobox').selectOption('grid');
    const grids = items.filter((a) => a.format === 'grid').length;
    await view
      .getByRole('status', { name: 'Augmented count' })
      .getByText(grids === 0 ? /^No augmented samples/ : `1–${grids} of ${grids} augmented samples`)
      .waitFor();
    await screenshot(page, 'studio-1b-augmented');
    await expectAccessible('dataset page, augmented tab');
    await page.goto(`${server.url}#/pipeline`);
    await stageState('Augment').waitFor();
  });

  it('inspects the model folder, answers every augmented sample and explains an unusable folder', async () => {
    const card = stage('Respond');
    const folder = card.getByLabel('Model folder');
    await folder.fill(path.join(dir, 'no-model'));
    await folder.press('Tab');
    await card
      .getByLabel('Model inspection')
      .getByText(/^This folder cannot be used: .*no-model/)
      .waitFor();
    expect(await card.getByRole('button', { name: 'Start answering' }).isDisabled()).toBe(true);
    await folder.fill(modelDir);
    await folder.press('Tab');
    await card
      .getByLabel('Model inspection')
      .getByText(/llama language model .* 16 tokens per image/)
      .waitFor();
    expect(await card.getByLabel('Attention layer').getAttribute('placeholder')).toBe('1 (middle)');
    await card.getByLabel('Execution provider').selectOption('cpu');
    expect(await card.getByLabel('Weight format').inputValue()).toBe('auto');
    await card.getByLabel('Maximum answer length').fill('3');
    await screenshot(page, 'studio-2-respond-form');
    await card.getByRole('button', { name: 'Start answering' }).click();
    await expect.poll(() => stageState('Respond').textContent(), { timeout: 120_000 }).toBe('Done');
    await card.getByText(`${AUGMENTED} of ${AUGMENTED} augmented samples answered`).waitFor();
    expect((await service.handlers['pipeline.overview']({})).generations).toBe(AUGMENTED);
  });

  it('selects with thresholds edited in the form, saved in the project', async () => {
    const card = stage('Select');
    const inputs = card.getByRole('spinbutton');
    for (let i = 0; i < (await inputs.count()); i++) await inputs.nth(i).fill('1.01');
    await card.getByRole('button', { name: 'Start selection' }).click();
    await expect.poll(() => stageState('Select').textContent(), { timeout: 60_000 }).toBe('Done');
    const { settings } = await service.handlers['pipeline.settings']({});
    expect(settings.selection.thresholds.grid['4']).toEqual({ op: '<', value: 1.01 });
    const overview = await service.handlers['pipeline.overview']({});
    expect(overview.decisions.keep + overview.decisions.drop).toBe(AUGMENTED);
    await card
      .getByText(`${overview.decisions.keep} kept, ${overview.decisions.drop} dropped; ${overview.pairs.total} pairs`)
      .waitFor();
    await stage('Review').getByText(`${overview.pairs.pending} pairs to review`).waitFor();
  });

  it('exports the kept pairs from the form', async () => {
    const overview = await service.handlers['pipeline.overview']({});
    expect(overview.exportable).toBeGreaterThan(0);
    const card = stage('Export');
    await card.getByLabel('Export format').selectOption('trl');
    await card.getByLabel('Export folder').fill('out-trl');
    await card.getByRole('button', { name: 'Export pairs' }).click();
    const result = card.getByRole('status', { name: 'Export result' });
    await result.waitFor();
    expect(await result.textContent()).toContain(`Wrote ${overview.exportable} pairs to`);
    expect(await result.textContent()).toContain(path.join(dir, 'project', 'out-trl'));
  });

  it('trains from the Training page with live plots, checkpoints and the final adapter', async () => {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Training', exact: true }).click();
    const form = page.getByRole('form', { name: 'Training settings' });
    // The reference run's defaults, from the schema.
    expect(await form.getByLabel('Learning rate').inputValue()).toBe('0.00005');
    expect(await form.getByLabel('LoRA rank').inputValue()).toBe('128');
    expect(await form.getByLabel('Beta').inputValue()).toBe('0.1');
    await form.getByLabel('Base model folder').fill(modelDir);
    await form.getByLabel('Output folder').fill(path.join(dir, 'adapter'));
    await form.getByLabel('Steps').fill('2');
    await form.getByLabel('Gradient accumulation').fill('1');
    await form.getByLabel('LoRA rank').fill('4');
    await form.getByLabel('LoRA alpha').fill('8');
    await form.getByLabel('Checkpoint every').fill('1');
    await form.getByLabel('Execution provider').selectOption('cpu');
    // Memory settings (issue 15): the base stays fp32 by default; checkpointing changes memory, not the result.
    expect(await form.getByLabel('Base weights').inputValue()).toBe('fp32');
    await form.getByLabel('Gradient checkpointing').check();
    await form.getByRole('button', { name: 'Start training' }).click();
    await form.getByRole('status', { name: 'Training started' }).waitFor();
    const runState = page.getByLabel('Run state');
    await runState.getByText(/finished$/).waitFor({ timeout: 180_000 });
    const { runs } = await service.handlers['train.runs']({});
    expect(runs[0]!.options).toMatchObject({ checkpointing: true });
    const { steps } = await service.handlers['train.metrics']({ runId: runs[0]!.id, after: 0 });
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    await page
      .getByLabel('Loss latest')
      .getByText(/at step 2$/)
      .waitFor();
    expect(await page.getByRole('group', { name: /plot$/ }).count()).toBe(6);
    expect(await page.locator('.metric-plot canvas').count()).toBe(6);
    const { checkpoints } = await service.handlers['train.checkpoints']({ runId: runs[0]!.id });
    expect(await page.getByRole('table', { name: 'Checkpoints' }).locator('tbody tr').count()).toBe(checkpoints.length);
    await page.getByLabel('Final adapter').getByText(path.join(dir, 'adapter')).waitFor();
    // Merge from the page: a dialog asks for the destination, the job's result names the merged folder.
    await page.getByRole('button', { name: 'Merge into the model' }).click();
    const mergeDialog = page.getByRole('dialog', { name: 'Merge into the model' });
    await mergeDialog.getByLabel('Destination folder').fill(path.join(dir, 'merged'));
    await mergeDialog.getByRole('button', { name: 'Start merge' }).click();
    await page.getByLabel('Merged model').getByText(path.join(dir, 'merged')).waitFor({ timeout: 60_000 });
    expect(existsSync(path.join(dir, 'merged', 'model.safetensors.index.json'))).toBe(true);
    await screenshot(page, 'studio-5-training');
    await expectAccessible('training page');
  });

  it('imports a benchmark, evaluates the base and the adapter, and compares them item by item', async () => {
    // Three multiple-choice items over the demo images, in the benchmark JSONL form.
    const images = readdirSync(path.join(imagesRoot, 'img'))
      .filter((f) => f.endsWith('.jpg'))
      .slice(0, 4)
      .map((f) => `img/${f}`);
    const bench = path.join(imagesRoot, 'bench.jsonl');
    writeFileSync(
      bench,
      [
        {
          id: 'q1',
          question: 'Which image shows a circle?',
          options: ['first', 'second'],
          answer: 'A',
          images: images.slice(0, 2),
          category: 'shape',
        },
        {
          id: 'q2',
          question: 'What colour is it?',
          options: ['red', 'blue', 'green'],
          answer: 'B',
          images: images.slice(2, 3),
          category: 'colour',
        },
        {
          id: 'q3',
          question: 'Which image is larger?',
          options: ['first', 'second'],
          answer: 'B',
          images: images.slice(1, 3),
          category: 'shape',
        },
      ]
        .map((o) => JSON.stringify(o))
        .join('\n'),
    );
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: 'Evaluation', exact: true })
      .click();
    const importForm = page.getByRole('form', { name: 'Import a benchmark' });
    await importForm.getByLabel('Benchmark file').fill(bench);
    await importForm.getByLabel('Benchmark name').fill('shapes');
    await importForm.getByRole('button', { name: 'Import benchmark' }).click();
    await importForm
      .getByRole('status', { name: 'Benchmark import result' })
      .getByText('shapes: 3 items imported, 0 rows left out.')
      .waitFor();

    const form = page.getByRole('form', { name: 'Evaluation settings' });
    const table = page.getByRole('table', { name: 'Runs by benchmark' });
    await form.getByLabel('Model folder').fill(modelDir);
    await form.getByLabel('Maximum answer length').fill('3');
    await form.getByLabel('Execution provider').selectOption('cpu');
    expect(await form.getByLabel('Weight format').inputValue()).toBe('fp32');
    for (const [adapter, rows] of [
      ['', 1],
      [path.join(dir, 'adapter'), 2],
    ] as const) {
      await form.getByLabel('Adapter folder (optional)').fill(adapter);
      await form.getByRole('button', { name: 'Start evaluation' }).click();
      await expect
        .poll(async () => (await service.handlers['eval.runs']({})).runs.filter((r) => r.answered === 3).length, {
          timeout: 120_000,
        })
        .toBe(rows);
      await expect.poll(() => table.locator('tbody tr').count()).toBe(rows);
    }
    const { runs } = await service.handlers['eval.runs']({});
    // The table shows each run's accuracy as the API computes it, the adapter's with its delta to the base.
    const t = await service.handlers['eval.table']({});
    const pctOf = (x: number) => `${(100 * x).toFixed(1)}%`;
    for (const row of t.rows) await table.getByText(pctOf(row.cells[0]!.accuracy)).first().waitFor();
    expect(await table.locator('.delta-up, .delta-down').count()).toBe(1);

    const compare = page.getByRole('region', { name: 'Compare two runs' });
    const c = await service.handlers['eval.compare']({ a: runs[0]!.id, b: runs[1]!.id, seed: 0, resamples: 2000 });
    await compare
      .getByLabel('Comparison summary')
      .getByText(new RegExp(`^On ${c.n} shared items`))
      .waitFor();
    await compare.getByLabel('Only items where one run is right and the other wrong').uncheck();
    await compare.getByRole('status', { name: 'Compared items' }).getByText('1–3 of 3 items').waitFor();
    const item = compare.getByRole('listitem').first();
    await item.getByRole('img').first().waitFor();
    await item.getByRole('button', { name: 'Show attention difference' }).click();
    await item.getByRole('img', { name: 'Attention difference over Image1' }).waitFor({ timeout: 60_000 });
    // The paper's Figure 6 of the same item, from the same model runs.
    expect(await item.getByTestId('figure6').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(
      300,
    );
    await screenshot(page, 'studio-6-evaluation');
    await expectAccessible('evaluation page');
  });

  it('holds every page’s layout at 900 px and in dark mode, still accessible', async () => {
    await page.setViewportSize({ width: 900, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    for (const [route, name, ready] of [
      ['pipeline', 'Pipeline', () => stageState('Export').waitFor()],
      ['training', 'Training', () => page.getByLabel('Run state').waitFor()],
      ['evaluation', 'Evaluation', () => page.getByRole('table', { name: 'Runs by benchmark' }).waitFor()],
      ['dataset', 'Dataset', () => page.getByRole('grid', { name: 'Samples' }).waitFor()],
    ] as const) {
      await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true }).click();
      await page.waitForURL((u) => u.hash === `#/${route}`);
      await ready();
      expect(await page.evaluate(() => document.documentElement.scrollWidth), route).toBeLessThanOrEqual(900);
      await screenshot(page, `studio-7-${route}-900-dark`);
      await expectAccessible(`${route} page, dark, 900 px`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('ran without page errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
