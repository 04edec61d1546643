// LlavaSession, the API the CLI and the pipeline call: image features come
// from the on-disk cache on the second use (same answer), stop strings cut the
// text and end generation, and chat-template vs raw prompts encode as expected.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import { LLAVA_V0_SYSTEM } from '../../../../electron/engine/text';
import { preprocessImage } from '../../../../electron/engine/vision/preprocess';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

let session: LlavaSession;
let modelDir: string;
let image: string;
let cacheDir: string;
beforeAll(async () => {
  const { dir } = await writeTinyLlava({ seed: 11, textLayers: 2 });
  modelDir = dir;
  const tmp = mkdtempSync(path.join(tmpdir(), 'session-'));
  image = path.join(tmp, 'a.png');
  cacheDir = path.join(tmp, 'cache');
  const raw = Buffer.from(Array.from({ length: 28 * 28 * 3 }, (_, i) => (i * 53) % 256));
  await sharp(raw, { raw: { width: 28, height: 28, channels: 3 } })
    .png()
    .toFile(image);
  session = await LlavaSession.open({ modelDir, ep: 'cpu', featureCacheDir: cacheDir });
});
afterAll(() => session.close());

describe('LlavaSession', () => {
  it('stores features on first use and answers identically from the cache', async () => {
    const first = await session.respond({ images: [image], prompt: 'What is shown?', maxNewTokens: 4 });
    const files = readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.feat'));
    expect(files).toHaveLength(1);
    const [cached] = await session.features([image]);
    const fresh = await session.runner.imageFeatures((await preprocessImage(image, session.processor)).data);
    expect(Array.from(cached!)).toEqual(Array.from(fresh));
    const second = await session.respond({ images: [image], prompt: 'What is shown?', maxNewTokens: 4 });
    expect(second.tokens).toEqual(first.tokens);
    expect(second.attention.per_image_mean).toEqual(first.attention.per_image_mean);
  });

  it('places one <image> per image before the question unless the prompt places them; raw keeps the text', async () => {
    const chat = await session.respond({ images: [image, image], prompt: 'Compare.', maxNewTokens: 1 });
    expect(chat.image_spans).toHaveLength(2);
    const placed = await session.respond({
      images: [image, image],
      prompt: 'Image1:<image>\nImage2:<image>\nIn Image2, what is it?',
      maxNewTokens: 1,
    });
    expect(placed.image_spans).toHaveLength(2);
    expect(placed.image_spans[1]!.start - placed.image_spans[0]!.end).toBeGreaterThan(
      chat.image_spans[1]!.start - chat.image_spans[0]!.end,
    );
    const raw = await session.respond({ images: [image], prompt: '<image>\nHi', raw: true, maxNewTokens: 1 });
    expect(raw.image_spans[0]!.start).toBeLessThan(chat.image_spans[0]!.start);
  });

  it('a stop string ends generation and is cut from the text', async () => {
    const free = await session.respond({ images: [image], prompt: 'Say something.', maxNewTokens: 8 });
    expect(free.text.length).toBeGreaterThan(2);
    const stop = free.text.slice(2, 4);
    const cut = await session.respond({
      images: [image],
      prompt: 'Say something.',
      maxNewTokens: 8,
      stopStrings: [stop],
    });
    expect(cut.stop_reason).toBe('stop');
    expect(cut.text).toBe(free.text.slice(0, free.text.indexOf(stop)).trim());
  });

  it("with the llava_v0 template, encodes the reference's conversation and stops an answer at `###`", async () => {
    const v0 = await LlavaSession.open({ modelDir, ep: 'cpu', template: 'llava_v0' });
    try {
      const got = await v0.respond({ images: [image], prompt: 'What is shown?', maxNewTokens: 6 });
      const raw = await session.respond({
        images: [image],
        prompt: `${LLAVA_V0_SYSTEM}###Human: <image>\nWhat is shown?###Assistant:`,
        raw: true,
        maxNewTokens: 6,
      });
      expect(got.input_ids).toEqual(raw.input_ids);
      // The same answer, cut where the separator begins (the raw prompt has no stop string).
      const cut = raw.text.indexOf('###');
      expect(got.text).toBe((cut < 0 ? raw.text : raw.text.slice(0, cut)).trim());
      const chat = await session.respond({ images: [image], prompt: 'What is shown?', maxNewTokens: 1 });
      expect(got.input_ids).not.toEqual(chat.input_ids);
    } finally {
      await v0.close();
    }
  });
});
