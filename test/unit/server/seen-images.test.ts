// The images a perturbed generation's model saw, end to end: a respond run on
// the tiny model with the reference's noise (grid, pic-in-pic), every
// generation kept as a pair, then pipeline.pairs.get's `seen` references and
// the web server's /images/seen/<generationId>/<index> route with its token.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../../electron/db';
import { generationImages } from '../../../electron/pipeline/perturb/generation-images';
import { hashSeed } from '../../../electron/pipeline/random';
import type { RespondSample } from '../../../electron/pipeline/respond/queries';
import { startServer, type RunningServer } from '../../../electron/server';
import { DEFAULT_SETTINGS } from '../../../shared/pipeline/defaults';
import { IMAGE_COUNTS } from '../../../shared/pipeline/formats';
import type { PairView } from '../../../shared/pipeline/commands';
import { respondFixture, respondRequest, waitJob, type RespondFixture } from '../pipeline/respond/fixture';

// Before the session worker starts: it takes the environment it starts with.
process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

let fx: RespondFixture;
let server: RunningServer;
let pairs: PairView[];
const samples = new Map<number, RespondSample>();

/** Every check off: each generation becomes a kept pair, whatever the random model answered. */
const KEEP_ALL = {
  selection: {
    thresholds: Object.fromEntries(
      Object.entries(IMAGE_COUNTS).map(([format, counts]) => [
        format,
        Object.fromEntries(counts.map((c) => [String(c), { op: '<=', value: 1e9 }])),
      ]),
    ),
    groundTruthMaxChars: 1e6,
    requireDifferent: false,
    requireNonEmpty: false,
    post: { perplexity: { min: null, max: null } },
  },
};

beforeAll(async () => {
  fx = await respondFixture(1, 5);
  const respond = await fx.service.handlers['pipeline.respond']({ ...respondRequest(fx.modelDir), perturb: true });
  expect((await waitJob(fx.service, respond.jobId)).state).toBe('done');
  const select = await fx.service.handlers['pipeline.select']({ patch: KEEP_ALL });
  expect((await waitJob(fx.service, select.jobId)).state).toBe('done');
  pairs = (
    await fx.service.handlers['pipeline.pairs']({ offset: 0, limit: 100, filter: {}, sort: { by: 'id', dir: 'asc' } })
  ).items;
  const store = await openProject(fx.projectDir);
  try {
    for (const p of pairs) samples.set(p.augmented_id, (await store.call('respondSample', { id: p.augmented_id }))!);
  } finally {
    await store.close();
  }
  const rendererDir = path.join(fx.dir, 'dist');
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>ui</title>');
  server = await startServer({ service: fx.service, rendererDir });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await fx?.service.close();
});

const get = (p: string, token = true) =>
  fetch(`http://127.0.0.1:${server.port}${p}${token ? `?token=${server.token}` : ''}`);

async function pixels(res: Response): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(Buffer.from(await res.arrayBuffer()))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

const pairOf = (format: PairView['format']) => pairs.find((p) => p.format === format)!;

describe('seen (perturbed) images', () => {
  it('pipeline.pairs.get lists one per prompt image for perturbed generations, none for clean ones', async () => {
    expect(pairs.map((p) => p.format).sort()).toEqual(['grid', 'pip', 'sequence']);
    for (const p of pairs) {
      const { seen } = await fx.service.handlers['pipeline.pairs.get']({ id: p.id });
      // Sequence noise is off by default (decision 0104): the model saw the stored images.
      expect(seen).toEqual(
        p.format === 'sequence' ? [] : p.images.map((_, index) => ({ kind: 'seen', id: p.generation_id, index })),
      );
    }
  });

  it.each(['grid', 'pip'] as const)(
    'serves the %s image exactly as generationImages gave it to the model, not the clean composite',
    async (format) => {
      const pair = pairOf(format);
      const sample = samples.get(pair.augmented_id)!;
      const [want] = await generationImages(sample, DEFAULT_SETTINGS.perturb, {
        perturb: true,
        seed: hashSeed(`0:${sample.planId}`),
      });
      const res = await get(`/images/seen/${pair.generation_id}/0`);
      expect([res.status, res.headers.get('content-type')]).toEqual([200, 'image/png']);
      const seen = await pixels(res);
      expect([seen.width, seen.height]).toEqual([want!.width, want!.height]);
      expect(seen.data.equals(Buffer.from(want!.data))).toBe(true);
      const clean = await pixels(await get(`/images/composite/${pair.augmented_id}`));
      expect(clean.data.equals(seen.data)).toBe(false);
      // Rendered once, then read from the project's cache.
      const again = await pixels(await get(`/images/seen/${pair.generation_id}/0`));
      expect(again.data.equals(seen.data)).toBe(true);
    },
  );

  it('keeps rendered images under the project cache, one file per image served', () => {
    expect(readdirSync(path.join(fx.projectDir, 'cache', 'seen')).filter((f) => f.endsWith('.png'))).toHaveLength(2);
  });

  it('answers 404 for an unknown generation, an index past the images and a clean generation', async () => {
    const grid = pairOf('grid');
    for (const p of [
      '/images/seen/999999/0',
      `/images/seen/${grid.generation_id}/1`,
      `/images/seen/${pairOf('sequence').generation_id}/0`,
    ]) {
      const res = await get(p);
      expect(res.status, p).toBe(404);
      expect(((await res.json()) as { kind: string }).kind).toBe('not-found');
    }
  });

  it('answers 400 for malformed ids, 401 without the token', async () => {
    const grid = pairOf('grid');
    for (const p of [
      '/images/seen/x/0',
      `/images/seen/${grid.generation_id}`,
      `/images/seen/${grid.generation_id}/-1`,
      '/images/seen/..%2f..%2fproject.db',
    ]) {
      expect((await get(p)).status, p).toBe(400);
    }
    expect((await get(`/images/seen/${grid.generation_id}/0`, false)).status).toBe(401);
  });
});
