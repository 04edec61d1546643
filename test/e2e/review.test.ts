// The Pairs and Thresholds pages in real Chromium against the local web
// server and the real service, on a project prepared with a tiny random
// llava-hf model (import -> augment -> respond -> select): keyboard review
// lands in the project (accept, reject, swap, undo and redo checked through
// the API), the grid's bulk reject of a filter with its count preview and its
// undo, a dragged threshold's kept count equal to what the selection job then
// keeps, the paper's Figure 5 following the draft and saved into the project,
// axe-core with no serious or critical violations, dark mode and the 900 px layout. Screenshots go to test-results/e2e/.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../electron/server';
import { ensureRendererBuilt } from '../../electron/server/renderer-build';
import type { Service } from '../../electron/service';
import type { PairView } from '../../shared/pipeline/commands';
import { DEFAULT_SETTINGS, REFERENCE_THRESHOLDS } from '../../shared/pipeline/defaults';
import { respondFixture, respondRequest, waitJob } from '../unit/pipeline/respond/fixture';
import { seriousA11yViolations } from './support/axe';
import { launchChromium, screenshot } from './support/browser';

/** Thresholds that keep every answer, so every generation has a pair to review. */
const KEEP_ALL = {
  selection: {
    requireNonEmpty: false,
    requireDifferent: false,
    post: { perplexity: { min: null } },
    thresholds: {
      sequence: Object.fromEntries(['2', '3', '4', '5'].map((c) => [c, { op: '<=', value: 1 }])),
      grid: Object.fromEntries(['2', '3', '4', '6', '9'].map((c) => [c, { op: '<=', value: 1 }])),
      pip: { '2': { op: '<=', value: 1 } },
    },
  },
};

let dir: string;
let service: Service;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  const [fx, br] = await Promise.all([respondFixture(3), launchChromium(), ensureRendererBuilt()]);
  dir = fx.dir;
  service = fx.service;
  browser = br;
  const respond = await service.handlers['pipeline.respond'](respondRequest(fx.modelDir, 4));
  expect((await waitJob(service, respond.jobId)).state).toBe('done');
  const select = await service.handlers['pipeline.select']({ patch: KEEP_ALL });
  expect((await waitJob(service, select.jobId)).state).toBe('done');
  server = await startServer({ service });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on(
    'console',
    (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && pageErrors.push(m.text()),
  );
  page.on(
    'response',
    (r) =>
      r.status() >= 400 &&
      !new URL(r.url()).pathname.startsWith('/api/') &&
      pageErrors.push(`${r.status()} ${r.url()}`),
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function pairs(): Promise<PairView[]> {
  return (
    await service.handlers['pipeline.pairs']({ offset: 0, limit: 500, filter: {}, sort: { by: 'id', dir: 'asc' } })
  ).items;
}

async function pairById(id: number): Promise<PairView> {
  return (await service.handlers['pipeline.pairs.get']({ id })).pair;
}

/** Waits until the API shows pair `id` in the review state wanted (the key press was saved). */
async function expectReview(id: number, review: PairView['review']): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await pairById(id)).review !== review) {
    if (Date.now() > deadline) throw new Error(`pair ${id} is ${(await pairById(id)).review}, wanted ${review}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const focus = (id: number) => page.getByRole('article', { name: `Pair ${id}` });

describe('review and thresholds in Chromium', () => {
  it('reviews pairs with the keyboard in the focus view; undo and redo land in the project', async () => {
    const all = await pairs();
    expect(all.length).toBe(9);
    const [p1, p2] = all as [PairView, PairView];
    await page.goto(server.url);
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Pairs', exact: true }).click();
    await focus(p1.id).waitFor();
    // The attention of the captured layer over the images, on a canvas, with its legend.
    expect(await focus(p1.id).getByTestId('heatmap').count()).toBeGreaterThan(0);
    await page.getByLabel(/^Attention scale, viridis/).waitFor();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0),
    );
    await screenshot(page, 'pairs-1-focus');

    await page.keyboard.press('a');
    await expectReview(p1.id, 'accepted');
    await focus(p2.id).waitFor();
    await page.keyboard.press('r');
    await expectReview(p2.id, 'rejected');
    await page.keyboard.press('Control+z');
    await expectReview(p2.id, 'pending');
    await page.keyboard.press('Control+z');
    await expectReview(p1.id, 'pending');
    await focus(p1.id).waitFor();
    await page.keyboard.press('Control+Shift+z');
    await expectReview(p1.id, 'accepted');
    expect((await service.handlers['pipeline.pairs.undoState']({})).redo?.label).toBe(`reject pair ${p2.id}`);

    // S swaps the answers (saved), K goes back, and undo swaps them back.
    await page.keyboard.press('k');
    await focus(p1.id).waitFor();
    await page.keyboard.press('s');
    await expect.poll(async () => (await pairById(p1.id)).chosen, { timeout: 10_000 }).toBe(p1.rejected);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await pairById(p1.id)).chosen, { timeout: 10_000 }).toBe(p1.chosen);
    expect((await pairById(p1.id)).review).toBe('accepted');

    // E edits both answers in a dialog; the edit is saved, and undone by Ctrl+Z.
    await page.keyboard.press('e');
    const edit = page.getByRole('dialog', { name: `Edit pair ${p1.id}` });
    await edit.getByLabel('Chosen answer (preferred)').fill('A red circle on white.');
    await edit.getByRole('button', { name: /^Save/ }).click();
    await edit.waitFor({ state: 'detached' });
    await expect.poll(async () => (await pairById(p1.id)).chosen, { timeout: 10_000 }).toBe('A red circle on white.');
    await focus(p1.id).getByRole('region', { name: 'Chosen answer' }).getByText('A red circle on white.').waitFor();
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await pairById(p1.id)).chosen, { timeout: 10_000 }).toBe(p1.chosen);

    // ? shows the keys; Esc closes the sheet.
    await page.keyboard.press('?');
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await sheet.getByText('Undo the last review action (bulk ones too)').waitFor();
    await screenshot(page, 'pairs-2-keys');
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
    expect(await seriousA11yViolations(page)).toEqual([]);
  });

  it('bulk-rejects a filter from the grid after previewing the count, and undoes it', async () => {
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const grid = page.getByRole('grid', { name: 'Pairs' });
    await grid.getByRole('row').nth(9).waitFor();
    await page.getByRole('combobox', { name: /^Review/ }).selectOption('pending');
    await page
      .getByRole('status')
      .filter({ hasText: /^8 pairs$/ })
      .waitFor();
    await screenshot(page, 'pairs-3-grid');
    await page.getByRole('button', { name: 'Reject all filtered…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reject the filtered pairs' });
    await dialog.getByText('8 of the 8 pairs that match the filter will be marked rejected.').waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Reject 8 pairs' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page
      .getByRole('status')
      .filter({ hasText: /^0 pairs$/ })
      .waitFor();
    expect((await pairs()).filter((p) => p.review === 'rejected')).toHaveLength(8);
    await grid.focus();
    await page.keyboard.press('Control+z');
    await page
      .getByRole('status')
      .filter({ hasText: /^8 pairs$/ })
      .waitFor();
    expect((await pairs()).map((p) => p.review).sort()).toEqual(['accepted', ...Array(8).fill('pending')]);
  });

  it('holds at 900 px and in dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 900, height: 800 });
    await page.getByRole('button', { name: 'Focus', exact: true }).click();
    await page.getByRole('article').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'pairs-4-dark-900');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('drags a threshold: the kept count is what the selection job then keeps', async () => {
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: 'Thresholds', exact: true })
      .click();
    const kept = page.getByTestId('kept-total');
    await kept.getByText(/^Kept 9 of 9 generations/).waitFor();
    await screenshot(page, 'thresholds-1');
    // The group with the lowest smallest ratio: dragging its line just below that value must drop something.
    const { curves } = await service.handlers['pipeline.select.curves']({});
    const group = curves
      .filter((c) => c.passOthers.length > 0)
      .sort((a, b) => a.passOthers[0]! - b.passOthers[0]!)
      .at(-1)!;
    const names = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Picture in picture' };
    const name = `${names[group.format]}, ${group.imageCount} images`;
    const handle = page.getByRole('slider', { name: `Threshold: Attention ratio, ${name}` });
    const box = (await handle.boundingBox())!;
    const plot = (await page
      .getByRole('figure', { name: `Attention ratio, ${name}` })
      .locator('.u-over')
      .boundingBox())!;
    const target = Math.max(0, group.passOthers[0]! - 0.03);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(plot.x + plot.width * target, box.y + box.height / 2, { steps: 8 });
    await page.mouse.up();
    const value = Number(await handle.getAttribute('aria-valuenow'));
    expect(Math.abs(value - target)).toBeLessThan(0.03);
    // Fine-tune with the keyboard: the count follows every step.
    await handle.press('ArrowLeft');
    const text = (await kept.textContent())!;
    const shown = Number(/^Kept (\d+)/.exec(text)![1]);
    expect(shown).toBeLessThan(9);
    await screenshot(page, 'thresholds-2-dragged');
    // Figure 5 follows the draft once the drag rests (drawn by the server, as saved); "Save figure" writes it.
    const figure = page.getByTestId('figure5');
    const rule = `aria-label="${group.imageCount}: ≤ ${await handle.getAttribute('aria-valuenow')}"`;
    await expect
      .poll(async () => decodeURIComponent((await figure.getAttribute('src')) ?? ''), { timeout: 20_000 })
      .toContain(rule);
    expect(await figure.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(600);
    await figure.scrollIntoViewIfNeeded();
    await screenshot(page, 'thresholds-3-figure5');
    await page.getByRole('button', { name: 'Save figure' }).click();
    const saved = page.getByTestId('figure-saved');
    await saved.waitFor({ timeout: 30_000 });
    const png = /^Saved (.+\.png) /.exec((await saved.textContent())!)![1]!;
    const project = (await service.handlers['project.info']({})).project!.dir;
    expect(png).toBe(path.join(project, 'figures', 'figure5-attention-ratios.png'));
    expect(existsSync(png)).toBe(true);
    expect(readFileSync(png.replace(/\.png$/, '.svg'), 'utf8')).toContain(rule);

    await page.getByRole('button', { name: 'Apply…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Apply the thresholds' });
    await dialog.getByText(`Selection will keep ${shown} of 9 generations`, { exact: false }).waitFor();
    expect(await seriousA11yViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Run selection' }).click();
    await dialog.getByText(`Selection finished: ${shown} generations kept.`).waitFor({ timeout: 30_000 });
    const stats = await service.handlers['pipeline.stats']({ bins: 10 });
    expect(stats.kept).toBe(shown);
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    await kept.getByText(new RegExp(`^Kept ${shown} of 9 generations`)).waitFor();
    // Reset to the paper's defaults: a draft of the reference thresholds (grid 2 images: < 0.7), kept count following.
    await page.getByRole('button', { name: "Reset to the paper's defaults" }).click();
    const grid2 = page.getByRole('slider', { name: 'Threshold: Attention ratio, Grid collage, 2 images' });
    expect(await grid2.getAttribute('aria-valuenow')).toBe('0.7');
    const reference = await service.handlers['pipeline.select.preview']({
      patch: { selection: { thresholds: REFERENCE_THRESHOLDS, post: DEFAULT_SETTINGS.selection.post } },
      examples: 0,
    });
    await page.getByRole('button', { name: 'Apply…' }).click();
    await dialog.getByText(`Selection will keep ${reference.kept} of 9 generations`, { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await kept.getByText(new RegExp(`^Kept ${shown} of 9 generations`)).waitFor();
    // No error reached the app-wide banner on the way.
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
