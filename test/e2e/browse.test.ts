// The UI in real Chromium against the local web server and the real service:
// create a project, import a generated LLaVA dataset (with bad entries), scroll
// the grid, open a sample, see a problem entry, cancel a large import; the
// routes: the pages' navigation, views restored from a link, the start page
// leading back to the link followed before a project was open.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDemoDataset, type DemoDataset } from '../../electron/io/demo-dataset';
import { startServer, type RunningServer } from '../../electron/server';
import { ensureRendererBuilt } from '../../electron/server/renderer-build';
import { createService, type Service } from '../../electron/service';
import { launchChromium, screenshot } from './support/browser';

const SAMPLES = 400;
/** Large enough that the import is still reading entries when Cancel is clicked. */
const BIG_SAMPLES = 60_000;

let dir: string;
let small: DemoDataset;
let big: DemoDataset;
let service: Service;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mia-e2e-'));
  const [, s, b, br] = await Promise.all([
    ensureRendererBuilt(),
    makeDemoDataset(path.join(dir, 'small'), { samples: SAMPLES, bad: true }),
    makeDemoDataset(path.join(dir, 'big'), { samples: BIG_SAMPLES, images: 8, bad: false }),
    launchChromium(),
  ]);
  small = s;
  big = b;
  browser = br;
  service = await createService({ configDir: path.join(dir, 'config') });
  // No rendererDir: the default renderer/dist, as `mia-dpo serve` uses it (already built above).
  server = await startServer({ service });
  page = await newPage();
});

/** A tab whose page errors, CSP violations and failed loads are recorded for the last test. */
async function newPage(): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  p.on('pageerror', (e) => pageErrors.push(e.message));
  // Console errors include CSP violations; failed loads are recorded with their URL instead.
  p.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
  );
  // API errors are answers the UI displays (the error test expects one); anything else failing is a bug.
  p.on(
    'response',
    (r) =>
      r.status() >= 400 &&
      !new URL(r.url()).pathname.startsWith('/api/') &&
      pageErrors.push(`${r.status()} ${r.url()}`),
  );
  return p;
}

/** The route part of a page's URL, e.g. '/dataset?sample=3'. */
function route(p: Page): string {
  return new URL(p.url()).hash.replace(/^#/, '');
}

async function sampleId(externalId: string): Promise<number> {
  const { items } = await service.handlers['samples.page']({ offset: 0, limit: 1000, filter: {} });
  const sample = items.find((s) => s.externalId === externalId);
  if (sample === undefined) throw new Error(`no sample ${externalId}`);
  return sample.id;
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function runImport(file: string, imagesRoot: string): Promise<void> {
  await page.getByRole('button', { name: 'Import dataset…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Import dataset' });
  await dialog.getByLabel('Dataset file', { exact: true }).fill(file);
  await dialog.getByLabel('Image folder', { exact: true }).fill(imagesRoot);
  await dialog.getByRole('button', { name: 'Start import' }).click();
}

describe('browsing UI in Chromium', () => {
  it('marks a recent project whose folder is gone and removes it from the list', async () => {
    const gone = path.join(dir, 'gone');
    mkdirSync(path.join(dir, 'config'), { recursive: true });
    writeFileSync(
      path.join(dir, 'config', 'recent.json'),
      JSON.stringify({ projects: [{ dir: gone, name: 'Gone project', openedAt: 1 }] }),
    );
    await page.goto(server.url);
    const entry = page.getByRole('listitem').filter({ hasText: gone });
    await entry.getByText('folder not found').waitFor();
    expect(await entry.getByRole('button', { name: 'Gone project', exact: true }).isDisabled()).toBe(true);
    await entry.getByRole('button', { name: 'Remove Gone project from recent projects' }).click();
    await entry.waitFor({ state: 'detached' });
    await page.getByText('None yet.').waitFor();
    expect((await service.handlers['project.recent']({})).projects).toEqual([]);
  });

  it('creates a project from the start page', async () => {
    await page.goto(server.url);
    await page.getByLabel('New project folder').fill(path.join(dir, 'project'));
    await page.getByLabel('Project name').fill('E2E project');
    await screenshot(page, '1-start');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByRole('heading', { name: 'E2E project' }).waitFor();
  });

  it('lands on the dataset page, named in the pages navigation, with the token kept', async () => {
    const nav = page.getByRole('navigation', { name: 'Pages' });
    expect(await nav.getByRole('link', { name: 'Dataset', exact: true }).getAttribute('aria-current')).toBe('page');
    expect(route(page)).toBe('/dataset');
    expect(new URL(page.url()).searchParams.get('token')).toBe(server.token);
  });

  it('imports a generated dataset and reports its bad entries', async () => {
    await page
      .getByRole('status')
      .filter({ hasText: /^0 samples$/ })
      .waitFor();
    // Set on this document: still there afterwards only if the grid refreshed without a reload.
    await page.evaluate(() => ((window as { beforeImport?: boolean }).beforeImport = true));
    await runImport(small.file, small.imagesRoot);
    const dialog = page.getByRole('dialog', { name: 'Import dataset' });
    const summary = dialog.getByLabel('Import counts');
    await summary.waitFor({ timeout: 60_000 });
    expect(await dialog.getByRole('progressbar', { name: 'Import progress' }).getAttribute('aria-valuenow')).toBe(
      '100',
    );
    // The counts add up to the entries read: malformed and duplicate entries are rejected, the other bad ones flagged.
    const good = small.entries - small.badEntries;
    expect(await summary.textContent()).toBe(
      `${small.entries} entries read: ${good} imported, ${small.badEntries - 2} flagged, 2 rejected`,
    );
    await dialog.getByText(/^imported: usable samples; flagged: imported with a problem/).waitFor();
    await screenshot(page, '2-import-done');
    // The job's 'done' event refreshed the grid and the project's counts behind the dialog.
    const samples = SAMPLES + small.badEntries - 2;
    await page
      .getByRole('status')
      .filter({ hasText: `${samples} samples` })
      .waitFor();
    await page.getByRole('banner').getByText(`${samples} samples · `).waitFor();
    expect(await page.evaluate(() => (window as { beforeImport?: boolean }).beforeImport)).toBe(true);
    await dialog.getByRole('button', { name: 'Close import dialog' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('scrolls the virtualized grid to the last sample', async () => {
    const grid = page.getByRole('grid', { name: 'Samples' });
    await grid.getByRole('gridcell', { name: /^Sample demo-0 / }).waitFor();
    await page
      .getByRole('status')
      .filter({ hasText: `${SAMPLES + small.badEntries - 2} samples` })
      .waitFor();
    const firstImage = grid.locator('img').first();
    await firstImage.waitFor();
    expect(await firstImage.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await screenshot(page, '3-grid-top');
    // Only the rows on screen exist: far fewer cells than samples.
    expect(await grid.getByRole('gridcell').count()).toBeLessThan(SAMPLES / 2);
    await grid.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await grid.getByRole('gridcell', { name: `Sample demo-${SAMPLES - 1}` }).waitFor();
    expect(await grid.getByRole('gridcell', { name: /^Sample demo-0 / }).count()).toBe(0);
    await screenshot(page, '4-grid-bottom');
  });

  it('opens a sample with the keyboard and closes it with Esc, the URL naming the open sample', async () => {
    const demo1 = await sampleId('demo-1');
    const grid = page.getByRole('grid', { name: 'Samples' });
    await grid.press('Home');
    await grid.press('ArrowRight');
    const selected = grid.locator('[aria-selected="true"]');
    expect(await selected.locator('.cell-id').textContent()).toBe('demo-1');
    await grid.press('Enter');
    const detail = page.getByRole('dialog', { name: 'Sample demo-1' });
    await page.waitForURL((u) => u.hash === `#/dataset?sample=${demo1}`);
    await detail.getByText('What shape is shown, and what colour is it?').waitFor();
    await detail.getByText(/on a white background/).waitFor();
    const image = detail.getByRole('img', { name: 'Image 1 of sample demo-1' });
    await image.waitFor();
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('.detail img')].every((i) => i.complete && i.naturalWidth > 0),
    );
    await screenshot(page, '5-detail');
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });
    expect(route(page)).toBe('/dataset');
  });

  it('restores a view from its link in a new tab: filter, search, open sample, tab', async () => {
    const tab = await newPage();
    const missing = await sampleId('bad-missing');
    await tab.goto(`${server.url}#/dataset?problems=1&q=shape&sample=${missing}`);
    await tab.getByRole('dialog', { name: 'Sample bad-missing' }).getByText('Missing image').waitFor();
    expect(await tab.getByLabel('Only samples with problems').isChecked()).toBe(true);
    expect(await tab.getByRole('searchbox').inputValue()).toBe('shape');
    await tab
      .getByRole('status')
      .filter({ hasText: new RegExp(`^${small.badEntries - 2} samples`) })
      .waitFor();
    await tab.getByRole('gridcell', { name: 'Sample bad-missing, has problems' }).waitFor();
    await screenshot(tab, '5a-deep-link');
    await tab.goto(`${server.url}#/dataset?tab=problems`);
    expect(await tab.getByRole('tab', { name: 'Problems' }).getAttribute('aria-selected')).toBe('true');
    await tab.getByRole('region', { name: 'Problems' }).getByRole('row').filter({ hasText: 'bad-corrupt' }).waitFor();
    // An unknown route leads back to the open project's first page.
    await tab.goto(`${server.url}#/no-such-page`);
    await tab.waitForURL((u) => u.hash === '#/dataset');
    await tab.close();
  });

  it('filters by problems and by text in question or answer', async () => {
    const status = (n: number) => page.getByRole('status').filter({ hasText: new RegExp(`^${n} samples`) });
    const onlyProblems = page.getByLabel('Only samples with problems');
    await onlyProblems.check();
    // Missing, corrupt, escaping and symlinked images: samples with problems (malformed and duplicate entries are not samples).
    await status(small.badEntries - 2).waitFor();
    await page.getByRole('gridcell', { name: 'Sample bad-missing, has problems' }).waitFor();
    await onlyProblems.uncheck();
    // Expected from the dataset file itself: distinct sample ids whose conversation mentions a triangle.
    const entries = JSON.parse(readFileSync(small.file, 'utf8')) as { id: string; conversations: unknown }[];
    const triangles = new Set(
      entries.filter((e) => JSON.stringify(e.conversations).includes('triangle')).map((e) => e.id),
    );
    expect(triangles.size).toBeGreaterThan(0);
    await page.getByRole('searchbox').fill('triangle');
    await status(triangles.size).waitFor();
    await screenshot(page, '5b-search');
    await page.getByRole('searchbox').fill('');
    await status(SAMPLES + small.badEntries - 2).waitFor();
  });

  it('lists the problem entries with their reason', async () => {
    await page.getByRole('tab', { name: 'Problems' }).click();
    const problems = page.getByRole('region', { name: 'Problems' });
    const missing = problems.getByRole('row').filter({ hasText: 'bad-missing' });
    await missing.waitFor();
    expect(await missing.textContent()).toContain('Missing image');
    for (const id of ['bad-corrupt', 'bad-escape', 'bad-symlink'])
      await problems.getByRole('row').filter({ hasText: id }).waitFor();
    await screenshot(page, '6-problems');
  });

  it('cancels a large import mid-way and keeps the project unchanged', async () => {
    const before = (await service.handlers['project.info']({})).project!.sampleCount;
    await page.getByRole('tab', { name: 'Samples' }).click();
    await runImport(big.file, big.imagesRoot);
    const dialog = page.getByRole('dialog', { name: 'Import dataset' });
    const bar = dialog.getByRole('progressbar', { name: 'Import progress' });
    await page.waitForFunction(
      () => Number(document.querySelector('[aria-label="Import progress"]')?.getAttribute('aria-valuenow') ?? 0) > 0,
    );
    expect(Number(await bar.getAttribute('aria-valuenow'))).toBeLessThan(100);
    await screenshot(page, '7-import-running');
    await dialog.getByRole('button', { name: 'Cancel import' }).click();
    await dialog
      .getByRole('status', { name: 'Import state' })
      .filter({ hasText: 'cancelled' })
      .waitFor({ timeout: 60_000 });
    expect((await service.handlers['project.info']({})).project!.sampleCount).toBe(before);
    await dialog.getByRole('button', { name: 'Close import dialog' }).click();
    await page.getByRole('tab', { name: 'Jobs' }).click();
    await page.getByRole('listitem').filter({ hasText: 'cancelled' }).waitFor();
    await screenshot(page, '8-jobs');
  });

  it('shows an error as a sentence naming the file, inside the dialog that caused it', async () => {
    const missing = path.join(dir, 'no-such-file.json');
    await runImport(missing, small.imagesRoot);
    const alert = page.getByRole('dialog', { name: 'Import dataset' }).getByRole('alert');
    await alert.filter({ hasText: missing }).waitFor();
    expect(await alert.textContent()).toBe(`Something could not be found: ${missing} does not exist.`);
    // The dialog owns the error: no banner repeats it.
    expect(await page.locator('.error-banner').count()).toBe(0);
    await screenshot(page, '9-error');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Import dataset' }).waitFor({ state: 'detached' });
  });

  it('follows the OS colour scheme', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(light).toBe('rgb(246, 247, 249)');
    expect(dark).toBe('rgb(21, 24, 29)');
    await page.getByRole('tab', { name: 'Samples' }).click();
    await page.getByRole('grid', { name: 'Samples' }).locator('img').first().waitFor();
    await screenshot(page, '10-dark');
  });

  it('closes the project to the start page, which leads back to a link followed meanwhile', async () => {
    const demo2 = await sampleId('demo-2');
    await page.getByRole('button', { name: 'Close project' }).click();
    await page.getByRole('heading', { name: 'Create project' }).waitFor();
    expect(route(page)).toBe('/');
    await page.goto(`${server.url}#/dataset?sample=${demo2}`);
    await page.reload();
    await page.getByRole('heading', { name: 'Recent projects' }).waitFor();
    // A failed attempt first: its error stays until a project opens.
    await page.getByLabel('Existing project folder').fill(path.join(dir, 'no-such-project'));
    await page.getByRole('button', { name: 'Open project' }).click();
    await page.getByRole('alert').filter({ hasText: 'no-such-project' }).waitFor();
    await page.getByRole('button', { name: 'E2E project', exact: true }).click();
    await page.getByRole('dialog', { name: 'Sample demo-2' }).waitFor();
    expect(route(page)).toBe(`/dataset?sample=${demo2}`);
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('ran without page errors or CSP violations', () => {
    expect(pageErrors).toEqual([]);
  });
});
