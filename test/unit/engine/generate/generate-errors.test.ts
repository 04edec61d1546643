// Bad input to generation and scoring fails with a clear AppError naming the
// problem (no crash, no runtime error from deep inside onnxruntime); stopping
// on EOS and on a caller's stop test.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../../../electron/engine/generate/generate';
import { loadRunner } from '../../../../electron/engine/generate/load';
import { LlavaRunner } from '../../../../electron/engine/generate/runner';
import { scoreResponses } from '../../../../electron/engine/generate/score';
import { openModel } from '../../../../electron/engine/models/open';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../helpers/tiny-llava';

let runner: LlavaRunner;
let features: Float32Array;
beforeAll(async () => {
  const { dir } = await writeTinyLlava({ seed: 2 });
  runner = await loadRunner(dir, { ep: 'cpu' });
  features = await runner.imageFeatures(new Float32Array(3 * TINY.image * TINY.image).fill(0.5));
});
afterAll(async () => {
  await runner.release();
  await runner.model.checkpoint.close();
});

const IMG = TINY.imageToken;

describe('bad input', () => {
  it('more or fewer <image> placeholders than images', async () => {
    await expect(generate(runner, [1, IMG, IMG, 5], [features], { maxNewTokens: 2 })).rejects.toThrow(
      /2 image placeholders but 1 image was given \(more/,
    );
    await expect(scoreResponses(runner, [1, 5], [features], [[3]])).rejects.toThrow(
      /0 image placeholders but 1 image was given \(fewer/,
    );
  });

  it('a prompt longer than the context', async () => {
    const long = new Array<number>(500).fill(7);
    await expect(generate(runner, [1, IMG, ...long], [features], { maxNewTokens: 4 })).rejects.toMatchObject({
      kind: 'bad-input',
      message: expect.stringMatching(/context of 512/),
    });
    await expect(scoreResponses(runner, [1, IMG, ...long], [features], [[3, 4]])).rejects.toThrow(/context of 512/);
  });

  it('wrong tensor shapes: pixels and features', async () => {
    await expect(runner.imageFeatures(new Float32Array(10))).rejects.toThrow(/expects \[3, 28, 28\]/);
    await expect(generate(runner, [1, IMG], [features.subarray(0, 32)], { maxNewTokens: 1 })).rejects.toThrow(
      /image 1's features have 32 values, expected 16 x 32/,
    );
  });

  it('an attention layer the model does not have, bad sampling and token counts', async () => {
    expect(() => new LlavaRunner(runner.model, { ep: 'cpu', captureLayers: [7] })).toThrow(
      /attention layer 7 does not exist: the model has layers 0-1/,
    );
    await expect(generate(runner, [1, IMG], [features], { maxNewTokens: 0 })).rejects.toThrow(/max new tokens = 0/);
    await expect(scoreResponses(runner, [1, IMG], [features], [[]])).rejects.toThrow(/response 1 is empty/);
  });

  it('an unsupported architecture names the field and value', async () => {
    const { dir } = await writeTinyLlava({ seed: 2 });
    const file = path.join(dir, 'config.json');
    const c = JSON.parse(readFileSync(file, 'utf8')) as { text_config: Record<string, unknown> };
    c.text_config['model_type'] = 'gemma2';
    writeFileSync(file, JSON.stringify(c));
    await expect(openModel(dir)).rejects.toThrow(/text_config.model_type.*gemma2.*llama, mistral, qwen2/s);
  });
});

describe('non-finite weights (issue 13 item 11)', () => {
  it.each([
    ['NaN', NaN],
    ['Inf', Infinity],
  ])('all-%s weights fail on the first step with a bad-file error naming the model folder', async (_name, value) => {
    const { dir } = await writeTinyLlava({ seed: 2 });
    const file = path.join(dir, 'model.safetensors');
    const bytes = readFileSync(file);
    const start = 8 + Number(bytes.readBigUInt64LE(0));
    new Float32Array(bytes.buffer, bytes.byteOffset + start, (bytes.length - start) / 4).fill(value);
    writeFileSync(file, bytes);
    const broken = await loadRunner(dir, { ep: 'cpu' });
    try {
      const error = await generate(broken, [1, IMG, 5], [features], { maxNewTokens: 3 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ kind: 'bad-file', subject: dir });
      expect((error as Error).message).toContain(`the model ${dir} computed non-finite logits`);
    } finally {
      await broken.release();
      await broken.model.checkpoint.close();
    }
  });
});

describe('stopping', () => {
  it('stops at an EOS id or when the caller says so, else at the token limit', async () => {
    const free = await generate(runner, [1, IMG, 5], [features], { maxNewTokens: 5 });
    expect(free.stopReason).toBe('length');
    expect(free.tokens).toHaveLength(5);
    const eos = await generate(runner, [1, IMG, 5], [features], { maxNewTokens: 5, eosTokenIds: [free.tokens[2]!] });
    expect(eos.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(free.tokens[2]!) + 1));
    expect(eos.stopReason).toBe('eos');
    const stop = await generate(runner, [1, IMG, 5], [features], {
      maxNewTokens: 5,
      shouldStop: (t) => t.length === 2,
    });
    expect(stop.tokens).toEqual(free.tokens.slice(0, 2));
    expect(stop.stopReason).toBe('stop');
    // Two tokens take one decode step, so one attention row (decode steps only by default).
    expect(stop.attention[0]!.rows).toHaveLength(1);
  });
});
