// LoRA against the reference (which applies W + s * B A itself): a PEFT
// adapter folder loaded unmerged (A, B as graph inputs) and merged, with
// standard and rsLoRA scaling; a fresh PEFT-initialised adapter is a no-op.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate } from '../../../../electron/engine/generate/generate';
import { loadRunner } from '../../../../electron/engine/generate/load';
import type { LlavaRunner } from '../../../../electron/engine/generate/runner';
import { createRng } from '../../../../electron/engine/generate/sampling';
import { LORA_TARGETS, initLora, loraModules } from '../../../../electron/engine/models/lora';
import { writePeftAdapter } from '../../../../electron/engine/models/peft';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { parseLlavaConfig } from '../../../../electron/engine/models/config';
import { maxAbsDiff } from '../../../helpers/ort';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../helpers/tiny-llava';
import { runReference } from '../models/reference';

const runners: LlavaRunner[] = [];
afterAll(async () => {
  for (const r of runners) {
    await r.release();
    await r.model.checkpoint.close();
  }
});

const PROMPT = [1, 17, TINY.imageToken, 40, 8, 3];
const pixels = Float32Array.from({ length: 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.13));

async function adapterFolder(
  config: Record<string, unknown>,
  rslora: boolean,
  layout: 'legacy' | 'nested',
): Promise<string> {
  const spec = llavaSpec(parseLlavaConfig(config));
  const rng = createRng(9);
  const w = initLora(
    spec.text,
    { rank: 4, alpha: 8, rslora, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] },
    rng,
  );
  for (const m of w.modules.values()) m.b = Float32Array.from(m.b, () => rng() - 0.5);
  const dir = mkdtempSync(path.join(tmpdir(), 'lora-'));
  await writePeftAdapter(dir, {
    config: {
      r: 4,
      loraAlpha: 8,
      useRslora: rslora,
      targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'],
      loraDropout: 0,
    },
    layout,
    modules: w.modules,
  });
  return dir;
}

async function run(dir: string, adapter?: { dir: string; merge: boolean }) {
  const runner = await loadRunner(dir, { ep: 'cpu', captureLayers: [1], ...(adapter ? { adapter } : {}) });
  runners.push(runner);
  return generate(runner, PROMPT, [await runner.imageFeatures(pixels)], { maxNewTokens: 4 });
}

describe('LoRA adapters', () => {
  it.each([
    ['unmerged, alpha / r, older layout', false, false, 'legacy'],
    ['merged, rsLoRA, newer layout', true, true, 'nested'],
  ] as const)('%s matches the reference', async (_name, merge, rslora, layout) => {
    const model = await writeTinyLlava({ attention: 'gqa', textLayers: 2, layout, seed: 4 });
    const adapter = await adapterFolder(model.config, rslora, layout);
    const res = await run(model.dir, { dir: adapter, merge });
    const ref = runReference(model.dir, {
      input_ids: PROMPT,
      pixels: { data: pixels, shape: [1, 3, TINY.image, TINY.image] },
      steps: 4,
      adapter,
    });
    expect(res.tokens).toEqual(ref.tokens);
    expect(maxAbsDiff(res.tokenLogprobs, ref.token_logprobs)).toBeLessThanOrEqual(1e-4);
    const base = runReference(model.dir, {
      input_ids: PROMPT,
      pixels: { data: pixels, shape: [1, 3, TINY.image, TINY.image] },
      steps: 4,
    });
    expect(maxAbsDiff(res.tokenLogprobs, base.token_logprobs)).toBeGreaterThan(1e-3);
  });

  it('a freshly initialised adapter (B = 0) leaves the model unchanged', () => {
    const spec = llavaSpec(
      parseLlavaConfig({
        text_config: { num_hidden_layers: 2, hidden_size: 32, num_attention_heads: 4, intermediate_size: 48 },
      }),
    );
    const w = initLora(spec.text, { rank: 2, alpha: 4, rslora: false, targets: LORA_TARGETS }, createRng(1));
    expect(w.modules.size).toBe(2 * 7);
    expect(w.scale).toBe(2);
    for (const m of w.modules.values()) {
      expect(m.b.every((x) => x === 0)).toBe(true);
      expect(Math.max(...m.a.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(m.inFeatures));
    }
    expect(loraModules(spec.text, ['down_proj'])[1]).toEqual({
      module: 'language_model.model.layers.1.mlp.down_proj',
      inFeatures: 48,
      outFeatures: 32,
    });
    expect(() => loraModules(spec.text, ['lm_head'])).toThrow(/lm_head.*not supported/);
  });
});
