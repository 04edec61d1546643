// `mia-dpo generate` and `score` on a tiny random InternLM-XComposer-2.5 folder
// (SentencePiece tokenizer trained in the test with InternLM2's settings): the
// family picks the IXC path (model-session.ts). What the CLI prints equals
// IxcSession driven directly on the rows IxcVisionEncoder gives for the same
// images at the chat code's hd_num (6 for two images, 24 for one): greedy
// tokens, input_ids with every image row marked -200, the per-image means over
// the whole span and over the ViT tokens only, the global-view maps; scores
// equal IxcSession.score. IxcSession itself is checked against torch in
// test/unit/engine/generate/ixc-session.test.ts, the encoder in ixc-vision.test.ts.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../electron/cli/run';
import { IxcSession } from '../../../electron/engine/generate/ixc-session';
import { IxcVisionEncoder, type IxcImageEmbedding } from '../../../electron/engine/models/ixc-vision';
import { IMAGE_INDEX_MARKER } from '../../../electron/engine/text/ixc-prompt';
import { hdTokenLayout } from '../../../electron/engine/vision/hd-layout';
import { writeRandomIxcAdapter } from '../../helpers/ixc-adapter';
import { writeTinyIxc, type TinyIxc } from '../../helpers/tiny-ixc';
import { photoLike, tempDir, writeRgbPng } from '../engine/vision/draw-images';

let tiny: TinyIxc;
let dir: string;
let session: IxcSession;
let encoder: IxcVisionEncoder;
let images: { wide: string; tall: string; single: string };
const dirs: string[] = [];

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false });
  return { code, out, err };
}

beforeAll(async () => {
  tiny = await writeTinyIxc(11);
  dir = tiny.dir;
  const img = tempDir('ixc-cli-img-');
  dirs.push(img);
  images = {
    wide: await writeRgbPng(path.join(img, 'wide.png'), photoLike(170, 60, 2), 170, 60),
    tall: await writeRgbPng(path.join(img, 'tall.png'), photoLike(50, 90, 3), 50, 90),
    single: await writeRgbPng(path.join(img, 'single.png'), photoLike(300, 200, 4), 300, 200),
  };
  session = await IxcSession.open(dir, { ep: 'cpu', captureLayers: [1] });
  encoder = new IxcVisionEncoder(session.model.checkpoint, { ep: 'cpu', runtime: session.runner.runtime });
}, 120_000);

afterAll(async () => {
  await encoder?.release();
  await session?.close();
  tiny?.cleanup();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

interface GenerateJson {
  input_ids: number[];
  tokens: number[];
  text: string;
  image_spans: { start: number; end: number }[];
  attention: { layer: number; per_image_mean: number[]; per_image_content_mean: number[]; maps: number[][][] };
}

const QUERY = 'Image1:<image>\nImage2:<image>\nWhich one shows the cat?';

describe('generate and score on an IXC2.5 folder', () => {
  it('generate --json: tokens, -200 markers, both means and global-view maps equal IxcSession on the same rows', async () => {
    const args = ['--model', dir, '--image', images.wide, '--image', images.tall, '--prompt', QUERY, '--ep', 'cpu'];
    const res = await cli(['generate', ...args, '--max-new-tokens', '5', '--attention-layer', '1', '--json']);
    expect(res.err).toBe('');
    expect(res.code).toBe(0);
    const got = JSON.parse(res.out) as GenerateJson;

    const embeds: IxcImageEmbedding[] = await encoder.embedImages([images.wide, images.tall]);
    expect(embeds.map((e) => e.hdNum)).toEqual([6, 6]);
    const direct = await session.answer({
      prompt: { query: QUERY },
      images: embeds.map((e) => e.rows),
      grids: embeds.map((e) => e.layout.grid),
      maxNewTokens: 5,
    });
    expect(got.tokens).toEqual(direct.generation.tokens);
    expect(got.tokens.length).toBeGreaterThan(0);
    expect(got.text).toBe(direct.text);
    expect(got.input_ids).toEqual(direct.generation.inputIds);
    // Every row of each image's span is the -200 marker, and nothing else is.
    expect(session.tokenizer.special.image).toBeUndefined();
    expect(got.image_spans.map((s) => s.end - s.start)).toEqual(embeds.map((e) => e.length));
    const marked = got.input_ids.flatMap((x, i) => (x === IMAGE_INDEX_MARKER ? [i] : []));
    const inSpans = got.image_spans.flatMap((s) => Array.from({ length: s.end - s.start }, (_, k) => s.start + k));
    expect(marked).toEqual(inSpans);
    // Means: whole span (separators included) and ViT tokens only, as IxcSession reads them.
    expect(got.attention.layer).toBe(1);
    const means = direct.imageMeans[0]!.images;
    got.attention.per_image_mean.forEach((m, i) => expect(m).toBeCloseTo(means[i]!.whole, 7));
    got.attention.per_image_content_mean.forEach((m, i) => expect(m).toBeCloseTo(means[i]!.content!, 7));
    expect(Math.abs(means[0]!.whole - means[0]!.content!)).toBeGreaterThan(1e-6);
    // Maps: the global view's side x side merged tokens, read from the span at the layout's global offsets.
    got.attention.maps.forEach((map, i) => {
      const layout = hdTokenLayout(embeds[i]!.layout.grid, embeds[i]!.layout.side);
      expect(map).toHaveLength(layout.side);
      const span = direct.generation.attention[0]!.images[i]!.map;
      map.flat().forEach((v, k) => expect(v).toBeCloseTo(span[layout.globalMap[k]!]!, 7));
    });
  });

  it('one image takes hd_num 24; <ImageHere> and --raw are accepted', async () => {
    const raw = '<ImageHere>[UNUSED_TOKEN_146]user\nWhat is this?[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n';
    const base = ['--model', dir, '--image', images.single, '--ep', 'cpu', '--max-new-tokens', '3', '--json'];
    const viaRaw = JSON.parse((await cli(['generate', ...base, '--raw', '--prompt', raw])).out) as GenerateJson;
    const viaQuery = JSON.parse((await cli(['generate', ...base, '--prompt', 'What is this?'])).out) as GenerateJson;
    const [e] = await encoder.embedImages([images.single]);
    expect(e!.hdNum).toBe(24);
    expect(e!.layout.grid).toEqual({ rows: 4, cols: 6 }); // at hd_num 6 it would be 2x3
    expect(viaRaw.image_spans).toEqual([{ start: 1, end: 1 + e!.length }]);
    // chat() puts a lone image in front of the prompt: the raw text above is what it builds.
    expect(viaQuery.input_ids).toEqual(viaRaw.input_ids);
    expect(viaQuery.tokens).toEqual(viaRaw.tokens);
  });

  it('score --json equals IxcSession.score on the same rows', async () => {
    const responses = ['the cat', 'a dog on the mat'];
    const args = ['--model', dir, '--image', images.wide, '--image', images.tall, '--prompt', QUERY, '--ep', 'cpu'];
    const res = await cli(['score', ...args, ...responses.flatMap((r) => ['--response', r]), '--json']);
    expect(res.code).toBe(0);
    const got = JSON.parse(res.out) as { input_ids: number[]; token_logprobs: number[][]; sum_logprob: number[] };
    const embeds = await encoder.embedImages([images.wide, images.tall]);
    const want = await session.score(
      { query: QUERY },
      embeds.map((e) => e.rows),
      responses,
    );
    expect(got.input_ids).toEqual(want.inputIds);
    got.token_logprobs.forEach((lp, i) => {
      expect(lp).toHaveLength(want.tokenLogprobs[i]!.length);
      lp.forEach((x, k) => expect(x).toBeCloseTo(want.tokenLogprobs[i]![k]!, 5));
    });
    got.sum_logprob.forEach((s, i) => expect(s).toBeCloseTo(want.sumLogprobs[i]!, 4));
  });

  it('generate and score --adapter run the IXC PEFT adapter as IxcSession does with it', async () => {
    const adapterDir = path.join(tempDir('ixc-cli-adapter-'), 'adapter');
    dirs.push(path.dirname(adapterDir));
    await writeRandomIxcAdapter(adapterDir, session.model.spec, { seed: 9 });
    const adapted = await IxcSession.open(dir, { ep: 'cpu', captureLayers: [1], adapter: { dir: adapterDir } });
    try {
      const args = ['--model', dir, '--image', images.single, '--prompt', 'What is this?', '--ep', 'cpu'];
      const gen = await cli(['generate', ...args, '--adapter', adapterDir, '--max-new-tokens', '4', '--json']);
      expect(gen.err).toBe('');
      expect(gen.code).toBe(0);
      const [e] = await encoder.embedImages([images.single]);
      const direct = await adapted.answer({ prompt: { query: 'What is this?' }, images: [e!.rows], maxNewTokens: 4 });
      expect((JSON.parse(gen.out) as GenerateJson).tokens).toEqual(direct.generation.tokens);
      const responses = ['a cat', 'the sea'];
      const sc = await cli([
        'score',
        ...args,
        '--adapter',
        adapterDir,
        ...responses.flatMap((r) => ['--response', r]),
        '--json',
      ]);
      expect(sc.code).toBe(0);
      const got = JSON.parse(sc.out) as { sum_logprob: number[] };
      const want = await adapted.score({ query: 'What is this?' }, [e!.rows], responses);
      const plain = await session.score({ query: 'What is this?' }, [e!.rows], responses);
      got.sum_logprob.forEach((x, i) => expect(x).toBeCloseTo(want.sumLogprobs[i]!, 4));
      expect(Math.abs(want.sumLogprobs[0]! - plain.sumLogprobs[0]!)).toBeGreaterThan(1e-2);
    } finally {
      await adapted.close();
    }
  });

  it('refuses a placeholder count that does not match the images', async () => {
    const base = ['--model', dir, '--image', images.single, '--ep', 'cpu', '--json'];
    const mismatch = await cli(['generate', ...base, '--prompt', 'Image1:<image>\nImage2:<image>\nHi']);
    expect(mismatch.code).not.toBe(0);
    expect(JSON.parse(mismatch.out).error.message).toMatch(/2 <ImageHere> placeholders but 1 image/);
  });
});
