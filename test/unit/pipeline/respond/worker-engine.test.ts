// WorkerEngine, the respond job's model engine in a worker thread, against the
// in-process ModelEngine on a tiny random llava-hf model: the same answers,
// errors with their kind, cancellation, close and terminate, and a main
// thread that keeps running while a generation is in flight.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../../shared/errors';
import type { ResponseRequest } from '../../../../electron/pipeline/respond/engine-interface';
import { ModelEngine } from '../../../../electron/pipeline/respond/model-engine';
import { WorkerEngine } from '../../../../electron/pipeline/respond/worker-engine';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

let modelDir: string;
let local: ModelEngine;
let worker: WorkerEngine;

/** A deterministic RGB image (no Math.random: the test must repeat). */
function image(width: number, height: number, salt: number): ResponseRequest['images'][number] {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + salt * 97 + ((i * i) >> 3)) & 255;
  return { data, width, height, channels: 3 };
}

function request(maxNewTokens: number, over: Partial<ResponseRequest> = {}): ResponseRequest {
  return { prompt: 'Compare <image> with <image>. What differs?', images: [image(40, 30, 1), image(33, 41, 2)], layer: local.layer, maxNewTokens, temperature: 0, seed: 0, ...over };
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return e instanceof AppError ? e.kind : `not an AppError: ${String(e)}`;
  }
}

beforeAll(async () => {
  modelDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'worker-engine-')), 'tiny-llava');
  await writeTinyLlava({ seed: 5, textLayers: 2, visionLayers: 2 }, modelDir);
  local = await ModelEngine.open({ modelDir, ep: 'cpu' });
  worker = await WorkerEngine.open({ modelDir, ep: 'cpu' });
}, 60_000);

afterAll(async () => {
  await local?.close();
  await worker?.close();
});

describe('WorkerEngine', () => {
  it('reports the same model, layer and EP as the in-process engine', () => {
    expect(worker.modelId).toBe(local.modelId);
    expect(worker.layer).toBe(local.layer);
    expect(worker.ep).toEqual(local.ep);
  });

  it('gives the same tokens, probabilities and maps as the in-process engine', async () => {
    for (const temperature of [0, 0.8]) {
      const r = request(12, { temperature, seed: 7 });
      const want = await local.generate(r);
      const got = await worker.generate(r);
      expect(got.tokens.length).toBeGreaterThan(0);
      expect(got.tokens).toEqual(want.tokens);
      expect(got.text).toBe(want.text);
      expect(got.maxProbs).toEqual(want.maxProbs);
      expect(got.logProbs).toEqual(want.logProbs);
      expect(got.attentionMaps).toEqual(want.attentionMaps);
      expect(got.perImageMean).toEqual(want.perImageMean);
      expect(got.patchSide).toBe(want.patchSide);
      expect(got.preprocessing).toEqual(want.preprocessing);
      expect(got.maxProbs).toBeInstanceOf(Float32Array);
      // The request's images were copied, not transferred: the caller still has them.
      expect(r.images[0]!.data.length).toBe(40 * 30 * 3);
    }
    const text = 'A red square left of a blue circle.';
    expect(await worker.tokenize(text)).toEqual(local.tokenize(text));
  });

  it('keeps error kinds and subjects across the thread', async () => {
    const wrongLayer = worker.generate(request(2, { layer: local.layer + 1 }));
    await expect(wrongLayer).rejects.toThrow(`attention layer ${local.layer + 1}`);
    expect(await kindOf(wrongLayer)).toBe('bad-input');
    const short = { data: new Uint8Array(10), width: 4, height: 4, channels: 3 as const };
    const e = await worker.generate(request(2, { images: [image(40, 30, 1), short] })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).kind).toBe('bad-input');
    expect((e as AppError).subject).toBe('image 2');
    // The worker still answers after a failed call.
    expect((await worker.generate(request(2))).tokens).toEqual((await local.generate(request(2))).tokens);
  });

  it('fails to open with the in-process error kind', async () => {
    const missing = path.join(path.dirname(modelDir), 'no-such-model');
    const want = await kindOf(ModelEngine.open({ modelDir: missing, ep: 'cpu' }));
    expect(want).not.toBe('resolved');
    expect(await kindOf(WorkerEngine.open({ modelDir: missing, ep: 'cpu' }))).toBe(want);
  });

  it('cancels an in-flight generation through its AbortSignal and stays usable', async () => {
    const controller = new AbortController();
    const long = worker.generate(request(400, { temperature: 1, seed: 3, signal: controller.signal }));
    setTimeout(() => controller.abort(), 30);
    expect(await kindOf(long)).toBe('cancelled');
    expect(await kindOf(worker.generate(request(2, { signal: AbortSignal.abort() })))).toBe('cancelled');
    expect((await worker.generate(request(3))).tokens).toEqual((await local.generate(request(3))).tokens);
  });

  it('keeps the main thread running while a generation is in flight', async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await worker.generate(request(100, { temperature: 1, seed: 3 }));
    running = false;
    // Each decode step is at least one session.run in the worker; the main thread turned many times more.
    expect(result.tokens.length).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(result.tokens.length * 5);
  });

  it('rejects calls in flight with kind runtime when the worker dies, and close is safe twice', async () => {
    const doomed = await WorkerEngine.open({ modelDir, ep: 'cpu' });
    // Stopped before it can answer; not mid-generation: onnxruntime-node aborts the process when a worker dies inside session.run.
    const inFlight = doomed.tokenize('a sentence to tokenize');
    await doomed.terminate();
    expect(await kindOf(inFlight)).toBe('runtime');
    expect(await kindOf(doomed.tokenize('x'))).toBe('runtime');
    const closing = await WorkerEngine.open({ modelDir, ep: 'cpu' });
    await closing.close();
    await closing.close();
    expect(await closing.exited).toBe(0);
    expect(await kindOf(closing.generate(request(2)))).toBe('conflict');
  });
});
