// ModelEngine, the respond job's engine: a thin adapter over LlavaSession
// whose graphs run in the engine's session worker. On a tiny random llava-hf
// model: errors keep their kind and subject, an AbortSignal cancels at the
// next decode step, the caller's thread keeps running during a generation,
// closing mid-generation waits for the run in flight, and the model id
// names the adapter (base and trained answers never mix).
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../../shared/errors';
import { LlavaSession } from '../../../../electron/engine/generate/session';
import { modelId } from '../../../../electron/engine/generate/model-id';
import { ADAPTER_WEIGHTS } from '../../../../electron/engine/models/peft';
import type { ResponseRequest } from '../../../../electron/pipeline/respond/engine-interface';
import { ModelEngine } from '../../../../electron/pipeline/respond/model-engine';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { writeAdapter } from './fixture';

let root: string;
let modelDir: string;
let engine: ModelEngine;

/** A deterministic RGB image (no Math.random: the test must repeat). */
function image(width: number, height: number, salt: number): ResponseRequest['images'][number] {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + salt * 97 + ((i * i) >> 3)) & 255;
  return { data, width, height, channels: 3 };
}

function request(maxNewTokens: number, over: Partial<ResponseRequest> = {}): ResponseRequest {
  return {
    prompt: 'Compare <image> with <image>. What differs?',
    images: [image(40, 30, 1), image(33, 41, 2)],
    layer: engine.layer,
    maxNewTokens,
    temperature: 0,
    seed: 0,
    ...over,
  };
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
  root = mkdtempSync(path.join(os.tmpdir(), 'model-engine-'));
  modelDir = path.join(root, 'tiny-llava');
  await writeTinyLlava({ seed: 5, textLayers: 2, visionLayers: 2 }, modelDir);
  engine = await ModelEngine.open({ modelDir, ep: 'cpu' });
}, 60_000);

afterAll(async () => {
  await engine?.close();
});

describe('ModelEngine', () => {
  it('keeps error kinds and subjects, and answers after a failed call', async () => {
    const wrongLayer = engine.generate(request(2, { layer: engine.layer + 1 }));
    await expect(wrongLayer).rejects.toThrow(`attention layer ${engine.layer + 1}`);
    expect(await kindOf(wrongLayer)).toBe('bad-input');
    const short = { data: new Uint8Array(10), width: 4, height: 4, channels: 3 as const };
    const e = await engine.generate(request(2, { images: [image(40, 30, 1), short] })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).kind).toBe('bad-input');
    expect((e as AppError).subject).toBe('image 2');
    expect((await engine.generate(request(2))).tokens.length).toBeGreaterThan(0);
  });

  it('fails to open a missing folder with a kind', async () => {
    expect(await kindOf(ModelEngine.open({ modelDir: path.join(root, 'no-such-model'), ep: 'cpu' }))).toBe('not-found');
  });

  it('cancels an in-flight generation through its AbortSignal and stays usable', async () => {
    const want = await engine.generate(request(3));
    const controller = new AbortController();
    const long = engine.generate(request(400, { temperature: 1, seed: 3, signal: controller.signal }));
    setTimeout(() => controller.abort(), 30);
    expect(await kindOf(long)).toBe('cancelled');
    expect(await kindOf(engine.generate(request(2, { signal: AbortSignal.abort() })))).toBe('cancelled');
    expect((await engine.generate(request(3))).tokens).toEqual(want.tokens);
  });

  it('keeps the caller thread running while a generation is in flight (session.run is in the worker)', async () => {
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const result = await engine.generate(request(100, { temperature: 1, seed: 3 }));
    running = false;
    // Each decode step is at least one session.run in the worker; the caller's thread turned many times more.
    expect(result.tokens.length).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(result.tokens.length * 5);
  });

  it('closes during a generation without stopping the worker inside a run: the generation fails, the process lives on', async () => {
    // Another attention layer is another text graph: its sessions are this engine's alone (the host shares equal graphs).
    const closing = await ModelEngine.open({ modelDir, ep: 'cpu', layer: 0 });
    const long = kindOf(closing.generate({ ...request(100, { temperature: 1, seed: 3 }), layer: 0 }));
    await new Promise((r) => setTimeout(r, 50));
    await closing.close();
    expect(['not-found', 'conflict']).toContain(await long);
    // The shared host still serves the other open model.
    expect((await engine.generate(request(2))).tokens.length).toBeGreaterThan(0);
  });
});

describe('model identity', () => {
  it('an adapter is part of the model id: its folder name and the hash of its files', async () => {
    const adapter = await writeAdapter(modelDir, path.join(root, 'adapter-a'), 1);
    const trained = await ModelEngine.open({ modelDir, ep: 'cpu', adapter });
    try {
      expect(trained.modelId).toMatch(new RegExp(`^${engine.modelId}\\+adapter-a@[0-9a-f]{12}$`));
      const [base, tuned] = [await engine.generate(request(6)), await trained.generate(request(6))];
      expect(tuned.logProbs).not.toEqual(base.logProbs);
    } finally {
      await trained.close();
    }
    const files = { modelDir, weightFiles: ['model.safetensors'], format: 'fp32' as const };
    const same = path.join(root, 'copy', 'adapter-a');
    cpSync(adapter, same, { recursive: true });
    // The same files in another folder of the same name: the same adapter.
    expect((await modelId({ ...files, adapterDir: same })).split('+')[1]).toBe(trained.modelId.split('+')[1]);
    // Retrained in place: other weights in the same folder are another model.
    writeFileSync(
      path.join(same, ADAPTER_WEIGHTS),
      Buffer.concat([Buffer.from(readdirSync(same).join()), Buffer.alloc(8)]),
    );
    expect(await modelId({ ...files, adapterDir: same })).not.toBe(await modelId({ ...files, adapterDir: adapter }));
  });

  it('keys the feature cache by the full model id, so the adapter does not read the base model features', async () => {
    const cacheDir = path.join(root, 'features');
    const adapter = await writeAdapter(modelDir, path.join(root, 'adapter-b'), 2);
    const file = path.join(root, 'image.png');
    const sharp = (await import('sharp')).default;
    await sharp(Buffer.from(image(20, 20, 3).data), { raw: { width: 20, height: 20, channels: 3 } })
      .png()
      .toFile(file);
    for (const o of [{}, { adapter: { dir: adapter } }]) {
      const s = await LlavaSession.open({ modelDir, ep: 'cpu', featureCacheDir: cacheDir, ...o });
      try {
        await s.features([file]);
        await s.features([file]);
      } finally {
        await s.close();
      }
    }
    // One entry per model: the adapter's session missed the base model's entry and stored its own.
    expect(readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.feat'))).toHaveLength(2);
  });
});
