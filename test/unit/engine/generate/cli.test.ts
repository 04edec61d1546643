// The model CLI commands run in-process on a tiny model folder with its real
// tokenizer: generate and score print the documented JSON, model inspect
// reports support, and failures exit non-zero with the reason.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../../electron/cli/run';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

let dir: string;
let image: string;
beforeAll(async () => {
  dir = (await writeTinyLlava({ seed: 8, textLayers: 2 })).dir;
  image = path.join(mkdtempSync(path.join(tmpdir(), 'img-')), 'a.png');
  const raw = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 37) % 256));
  await sharp(raw, { raw: { width: 40, height: 30, channels: 3 } })
    .png()
    .toFile(image);
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)), tty: false });
  return { code, out, err };
}

describe('mia-dpo generate / score / model inspect', () => {
  it('generate --json reports tokens, text, spans, attention and perplexities', async () => {
    const r = await cli([
      'generate',
      '--model',
      dir,
      '--image',
      image,
      '--prompt',
      'What is this?',
      '--max-new-tokens',
      '3',
      '--ep',
      'cpu',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<string, unknown> & {
      attention: { layer: number; per_image_mean: number[]; maps: number[][][] };
      tokens: number[];
      image_spans: unknown[];
    };
    expect(j.tokens).toHaveLength(3);
    expect(j.image_spans).toEqual([{ start: expect.any(Number), end: expect.any(Number) }]);
    expect(j.attention.layer).toBe(1);
    expect(j.attention.maps[0]).toHaveLength(4);
    expect(j.attention.per_image_mean[0]).toBeGreaterThan(0);
    expect(j['ppl']).toBeGreaterThan(1);
    expect(j['ppl_maxprob']).toBeGreaterThanOrEqual(1);
    expect(typeof j['text']).toBe('string');
    // Where the time went: opening, the first answer's session creation (part of its prefill), decode.
    const t = j['timing'] as { prefill_ms: number; decode_ms: number; sessions_ms: number };
    expect(j['load_ms']).toBeGreaterThan(0);
    expect(t.sessions_ms).toBeGreaterThan(0);
    expect(t.prefill_ms).toBeGreaterThanOrEqual(t.sessions_ms);
    expect(t.decode_ms).toBeGreaterThan(0);
  });

  it('score --json gives one log-prob per response token and their sum', async () => {
    const r = await cli([
      'score',
      '--model',
      dir,
      '--image',
      image,
      '--prompt',
      'What is this?',
      '--response',
      'A red square.',
      '--ep',
      'cpu',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { response_ids: number[]; token_logprobs: number[]; sum_logprob: number };
    expect(j.token_logprobs).toHaveLength(j.response_ids.length);
    expect(j.sum_logprob).toBeCloseTo(
      j.token_logprobs.reduce((a, b) => a + b, 0),
      5,
    );
  });

  it('bad input exits 1 with the reason; missing options exit 2', async () => {
    const more = await cli([
      'generate',
      '--model',
      dir,
      '--image',
      image,
      '--prompt',
      '<image> and <image>',
      '--raw',
      '--ep',
      'cpu',
      '--json',
    ]);
    expect(more.code).toBe(1);
    expect(JSON.parse(more.out).error.message).toMatch(/2 image placeholders but 1 image/);
    expect((await cli(['generate', '--model', dir, '--ep', 'cpu'])).code).toBe(2);
  });

  it('model inspect describes a supported folder and explains an unsupported one', async () => {
    const ok = await cli(['model', 'inspect', dir, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      supported: true,
      architecture: { text: 'llama', vision: 'clip_vision_model' },
      image_tokens_per_image: 16,
    });
    const bad = (await writeTinyLlava({ seed: 8 })).dir;
    const c = JSON.parse(readFileSync(path.join(bad, 'config.json'), 'utf8')) as {
      vision_config: Record<string, unknown>;
    };
    c.vision_config['model_type'] = 'pixtral';
    writeFileSync(path.join(bad, 'config.json'), JSON.stringify(c));
    const no = await cli(['model', 'inspect', bad, '--json']);
    expect(no.code).toBe(1);
    expect(JSON.parse(no.out).reason).toMatch(/vision_config.model_type.*pixtral/);
  });

  it('model inspect says unsupported when tokenizer.json is missing or unreadable (issue 13 item 10)', async () => {
    const folder = (await writeTinyLlava({ seed: 8 })).dir;
    rmSync(path.join(folder, 'tokenizer.json'));
    const missing = await cli(['model', 'inspect', folder, '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({
      supported: false,
      reason: expect.stringMatching(/tokenizer.*tokenizer\.json/),
    });
    writeFileSync(path.join(folder, 'tokenizer.json'), '{not json');
    const broken = await cli(['model', 'inspect', folder, '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.out)).toMatchObject({
      supported: false,
      reason: expect.stringMatching(/tokenizer unreadable/),
    });
  });
});
