// PEFT LoRA adapters on an InternLM-XComposer-2.5 folder at inference
// (models/ixc-peft.ts, IxcSession's `adapter`): an adapter in the official
// layout (random A and B, r 4, alpha 8) runs beside the frozen weights and the
// frozen PLoRA on every row; greedy tokens and score log-probs equal torch's
// (ixc_ref.py reading the PEFT folder itself, float64), merged and unmerged
// agree; an adapter exported from DpoTrainer's trained state and read back
// scores as the trainer's policy; bad adapters are refused naming the file.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IxcSession } from '../../../../electron/engine/generate/ixc-session';
import { openModelSession } from '../../../../electron/engine/generate/model-session';
import { IXC_LORA_TARGETS, IXC_PEFT_TARGET_MODULES } from '../../../../electron/engine/models/ixc';
import { loadIxcAdapter } from '../../../../electron/engine/models/ixc-peft';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, writePeftAdapter } from '../../../../electron/engine/models/peft';
import { IMAGE_INDEX_MARKER, IXC_TURN_END, encodeIxcPrompt } from '../../../../electron/engine/text/ixc-prompt';
import { ADAMW_DEFAULTS } from '../../../../electron/engine/train/adamw';
import { DPO_DEFAULTS, DpoTrainer } from '../../../../electron/engine/train/dpo/trainer';
import { writeRandomIxcAdapter } from '../../../helpers/ixc-adapter';
import { maxAbsDiff } from '../../../helpers/ort';
import { runReference } from '../../../helpers/reference';
import { writeTinyIxc, type TinyIxc } from '../../../helpers/tiny-ixc';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { photoLike, writeRgbPng } from '../vision/draw-images';

const H = 32;
const rows = (n: number, seed: number) =>
  Float32Array.from({ length: n * H }, (_, i) => Math.sin(i * 0.53 + seed) * 0.8);
const IMAGES = [rows(35, 1), rows(27, 2)];
const PROMPT = { query: 'Image1:<image>\nImage2:<image>\nWhich one shows the cat?' };

let tiny: TinyIxc;
let tmp: string;
let adapterDir: string;
let base: IxcSession;
let adapted: IxcSession;

beforeAll(async () => {
  tiny = await writeTinyIxc(21);
  tmp = mkdtempSync(path.join(tmpdir(), 'ixc-adapter-'));
  adapterDir = path.join(tmp, 'adapter');
  base = await IxcSession.open(tiny.dir, { ep: 'cpu', captureLayers: [1] });
  await writeRandomIxcAdapter(adapterDir, base.model.spec, { r: 4, alpha: 8, seed: 5 });
  adapted = await IxcSession.open(tiny.dir, { ep: 'cpu', captureLayers: [1], adapter: { dir: adapterDir } });
}, 120_000);

afterAll(async () => {
  await adapted?.close();
  await base?.close();
  tiny?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

/** One ixc_ref.py request on IMAGES with the adapter folder read by the reference; image rows marked -1. */
function reference(runs: { name: string; ids: number[]; logits?: 'all'; steps?: number }[], peft: string) {
  const dir = mkdtempSync(path.join(tmp, 'ref-'));
  const file = path.join(dir, 'rows.f32');
  const all = new Float32Array(IMAGES.reduce((a, f) => a + f.length, 0));
  IMAGES.reduce((at, f) => (all.set(f, at), at + f.length), 0);
  writeFileSync(file, new Uint8Array(all.buffer));
  const req = runs.map(({ ids, ...r }) => ({
    ...r,
    peft,
    input_ids: ids.map((x) => (x === IMAGE_INDEX_MARKER ? -1 : x)),
    image_rows: file,
  }));
  writeFileSync(path.join(dir, 'req.json'), JSON.stringify({ runs: req }));
  return runReference('ixc_ref.py', [tiny.dir, path.join(dir, 'req.json')]);
}

/** log-softmax of `logits` [T, V] at (t, token) pairs. */
function logprobsAt(logits: Float32Array, v: number, at: { t: number; token: number }[]): number[] {
  return at.map(({ t, token }) => {
    const row = Array.from(logits.subarray(t * v, (t + 1) * v));
    const max = Math.max(...row);
    return row[token]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  });
}

describe('an IXC2.5 PEFT adapter at inference', () => {
  it('generates torch greedy tokens and scores torch log-probs with the adapter; merged agrees; the adapter matters', async () => {
    const a = await adapted.answer({ prompt: PROMPT, images: IMAGES, maxNewTokens: 6 });
    const responses = ['the cat', 'a dog sat on the mat'];
    const scored = await adapted.score(PROMPT, IMAGES, responses);
    const end = adapted.tokenizer.tokenId(IXC_TURN_END)!;
    const promptIds = scored.inputIds;
    const runs = responses.map((t, i) => ({
      name: `r${i}`,
      ids: [...promptIds, ...adapted.tokenizer.encode(t, { addSpecialTokens: false }), end],
      logits: 'all' as const,
    }));
    const ref = reference(
      [{ name: 'gen', ids: a.generation.inputIds, steps: a.generation.tokens.length }, ...runs],
      adapterDir,
    );
    expect(a.generation.tokens).toEqual((ref.config['gen'] as { tokens: number[] }).tokens);
    const v = adapted.model.spec.vocabSize;
    runs.forEach((run, i) => {
      const want = logprobsAt(
        ref.tensors.get(`r${i}.logits`)!.data,
        v,
        run.ids.slice(promptIds.length).map((token, j) => ({ t: promptIds.length - 1 + j, token })),
      );
      expect(maxAbsDiff(scored.tokenLogprobs[i]!, want)).toBeLessThanOrEqual(1e-4);
    });
    // The adapter changes the model: the base scores differ by far more than the tolerance.
    const plain = await base.score(PROMPT, IMAGES, responses);
    expect(maxAbsDiff(plain.tokenLogprobs[0]!, scored.tokenLogprobs[0]!)).toBeGreaterThan(1e-2);
    // Merged into W: the same tokens and log-probs within float32 rounding.
    const merged = await IxcSession.open(tiny.dir, {
      ep: 'cpu',
      captureLayers: [1],
      adapter: { dir: adapterDir, merge: true },
    });
    try {
      const m = await merged.answer({ prompt: PROMPT, images: IMAGES, maxNewTokens: 6 });
      expect(m.generation.tokens).toEqual(a.generation.tokens);
      const ms = await merged.score(PROMPT, IMAGES, responses);
      ms.tokenLogprobs.forEach((lp, i) => expect(maxAbsDiff(lp, scored.tokenLogprobs[i]!)).toBeLessThanOrEqual(1e-4));
    } finally {
      await merged.close();
    }
  });

  it("an adapter exported from DpoTrainer's trained state scores as the trainer's policy", async () => {
    const image = await writeRgbPng(path.join(tmp, 'a.png'), photoLike(60, 50, 5), 60, 50);
    const lora = { rank: 4, alpha: 8, rslora: false, targets: IXC_LORA_TARGETS, dropout: 0 };
    const trainer = await DpoTrainer.create({
      modelDir: tiny.dir,
      ep: 'cpu',
      lora,
      dpo: DPO_DEFAULTS,
      adamw: { ...ADAMW_DEFAULTS, weightDecay: 0 },
      seed: 3,
    });
    const out = path.join(tmp, 'trained');
    const query = 'What is in the picture?';
    const [chosen, rejected] = ['a small red cat', 'nothing'];
    let features: Float32Array[];
    let policy: { chosen: number[]; rejected: number[] };
    try {
      features = await trainer.imageFeatures([image]);
      const pair = {
        promptIds: encodeIxcPrompt(base.tokenizer, { query }, { images: 1 }).inputIds,
        features,
        chosenIds: base.responseIds(chosen),
        rejectedIds: base.responseIds(rejected),
      };
      const ref = await trainer.referenceLogprobs([pair]);
      const example = { ...pair, refChosen: ref.chosen[0]!, refRejected: ref.rejected[0]! };
      for (let s = 0; s < 3; s++) await trainer.step([example], { lr: 2e-2, apply: true, stepIndex: s });
      const state = await trainer.exportState();
      policy = await trainer.referenceLogprobs([pair], state.lora);
      expect(policy.chosen[0]! - ref.chosen[0]!).toBeGreaterThan(1e-3); // training moved the policy
      await writePeftAdapter(out, {
        config: {
          r: lora.rank,
          loraAlpha: lora.alpha,
          useRslora: false,
          loraDropout: 0,
          targetModules: IXC_LORA_TARGETS.map((t) => IXC_PEFT_TARGET_MODULES[t]),
        },
        layout: 'ixc',
        modules: state.lora.modules,
      });
    } finally {
      await trainer.close();
    }
    const session = await IxcSession.open(tiny.dir, { ep: 'cpu', adapter: { dir: out } });
    try {
      const got = await session.score({ query }, features, [chosen, rejected]);
      expect(got.sumLogprobs[0]).toBeCloseTo(policy.chosen[0]!, 3);
      expect(got.sumLogprobs[1]).toBeCloseTo(policy.rejected[0]!, 3);
    } finally {
      await session.close();
    }
  });

  it('refuses missing, pickled, foreign-family, mis-shaped and mis-targeted adapters, naming the file', async () => {
    const spec = base.model.spec;
    const load = (dir: string) => loadIxcAdapter(dir, base.model.checkpoint);
    // Missing folder / config.
    const none = path.join(tmp, 'none');
    await expect(load(none)).rejects.toThrow(`${path.join(none, ADAPTER_CONFIG)}: cannot read the adapter config`);
    // Only a PyTorch pickle (what older PEFT saves).
    const pickled = path.join(tmp, 'pickled');
    await writeRandomIxcAdapter(pickled, spec);
    renameSync(path.join(pickled, ADAPTER_WEIGHTS), path.join(pickled, 'adapter_model.bin'));
    await expect(load(pickled)).rejects.toThrow(`${path.join(pickled, 'adapter_model.bin')}: PyTorch pickle adapters`);
    // A rank that is not adapter_config.json's.
    const shaped = path.join(tmp, 'shaped');
    await writeRandomIxcAdapter(shaped, spec, { r: 4 });
    const config = JSON.parse(readFileSync(path.join(shaped, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(shaped, ADAPTER_CONFIG), JSON.stringify({ ...config, r: 8 }));
    await expect(load(shaped)).rejects.toThrow(
      new RegExp(
        `${path.join(shaped, ADAPTER_WEIGHTS)}: "base_model\\.model\\.model\\.layers\\.\\d+\\.\\S+\\.lora_A\\.weight" has shape \\[4, (\\d+)\\], expected \\[8, \\1\\]`,
      ),
    );
    // target_modules that do not select what the weights adapt.
    writeFileSync(path.join(shaped, ADAPTER_CONFIG), JSON.stringify({ ...config, target_modules: ['attention.wqkv'] }));
    await expect(load(shaped)).rejects.toThrow(
      /target_modules \["attention.wqkv"\] does not select model.layers.0.attention.wo/,
    );
    // LoRA on the vision tower: refused by name.
    const vit = path.join(tmp, 'vit');
    await writePeftAdapter(vit, {
      config: { r: 2, loraAlpha: 2, useRslora: false, loraDropout: 0, targetModules: 'vit.*' },
      layout: 'ixc',
      modules: new Map([
        [
          'vit.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj',
          { a: new Float32Array(2 * 16), b: new Float32Array(16 * 2), inFeatures: 16, outFeatures: 16 },
        ],
      ]),
    });
    await expect(load(vit)).rejects.toThrow(/LoRA on vit\.vision_tower.*self_attn\.q_proj is not supported/);

    // A llava-hf adapter on the IXC folder, and this IXC adapter on a llava-hf folder, through the session factory.
    const llava = await writeTinyLlava({ seed: 2 });
    const llavaAdapter = path.join(tmp, 'llava-adapter');
    mkdirSync(llavaAdapter);
    await writePeftAdapter(llavaAdapter, {
      config: { r: 2, loraAlpha: 2, useRslora: false, loraDropout: 0, targetModules: ['q_proj'] },
      layout: 'legacy',
      modules: new Map([
        [
          'language_model.model.layers.0.self_attn.q_proj',
          { a: new Float32Array(2 * H), b: new Float32Array(H * 2), inFeatures: H, outFeatures: H },
        ],
      ]),
    });
    try {
      await expect(openModelSession({ modelDir: tiny.dir, ep: 'cpu', adapter: { dir: llavaAdapter } })).rejects.toThrow(
        /this is an adapter for llava-hf models .*the base model is an InternLM-XComposer-2.5 folder/,
      );
      await expect(openModelSession({ modelDir: llava.dir, ep: 'cpu', adapter: { dir: adapterDir } })).rejects.toThrow(
        /adapter_model.safetensors: this is an adapter for InternLM-XComposer-2.5 models .*the base model is a llava-hf folder/,
      );
    } finally {
      rmSync(llava.dir, { recursive: true, force: true });
    }
  });
});
