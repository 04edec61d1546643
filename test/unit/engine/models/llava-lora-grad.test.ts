// Gradient parity of the production LLaVA text graph with unmerged LoRA (the
// decoder generation runs, differentiated by autodiff) against PyTorch
// autograd in float64 (test/reference/llava_ref.py, each row run alone): a
// tiny random GQA checkpoint, image features merged at the image tokens, a
// left-padded batch of 2 with per-row positions; loss = sum of the response
// tokens' log-probs. Every LoRA A and B gradient within 1e-5 of max |ref| and
// the log-probs within 2e-5 (measured: 2.4e-6 and 3.2e-6; a 2.5e-5 change of
// the LoRA scale already fails).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradients } from '../../../../electron/engine/autodiff';
import { expandPrompt } from '../../../../electron/engine/generate/prompt';
import { createRng } from '../../../../electron/engine/generate/sampling';
import {
  buildVisionGraph,
  llavaTextForward,
  textGraphInputs,
  tokenLogprobs,
} from '../../../../electron/engine/models/llava';
import { LORA_TARGETS, initLora, loraBranch, loraInputNames } from '../../../../electron/engine/models/lora';
import { rotaryTables } from '../../../../electron/engine/models/nn';
import { openModel, type OpenModel } from '../../../../electron/engine/models/open';
import { externalParams } from '../../../../electron/engine/models/params';
import { writePeftAdapter } from '../../../../electron/engine/models/peft';
import { Graph, op } from '../../../../electron/engine/onnx';
import type { HostTensor } from '../../../helpers/ort';
import { maxAbsDiff, runGraph } from '../../../helpers/ort';
import { relErr } from '../../../helpers/reference';
import { TINY_LLAVA as TINY, writeTinyLlava } from '../../../helpers/tiny-llava';
import { runReference } from './reference';

const IMG = TINY.imageToken;
/** Row 0: two images; row 1: one image, shorter, so it is left-padded. */
const ROWS = [
  { prompt: [1, 5, IMG, 9, IMG, 12], response: [7, 33, 2], images: [0, 1] },
  { prompt: [1, IMG, 40, 8], response: [3, 2], images: [2] },
];
const RANK = 2;

const opened: OpenModel[] = [];
afterAll(async () => {
  for (const m of opened) await m.checkpoint.close();
});

const pixels = Float32Array.from({ length: 3 * 3 * TINY.image * TINY.image }, (_, i) => Math.sin(i * 0.29) * 1.3);

/** The padded batch: ids, next-token targets, response mask, feature index, rope tables and the attention bias. */
function batchFeeds(m: OpenModel): { feeds: Record<string, HostTensor>; responseAt: number[][] } {
  const per = m.spec.tokensPerImage;
  const rows = ROWS.map((r) => {
    const e = expandPrompt(r.prompt, IMG, r.images.length, per);
    const featureIndex = Array.from(e.featureIndex, (f) =>
      f < 0 ? -1 : r.images[Math.floor(f / per)]! * per + (f % per),
    );
    return {
      ids: [...e.ids, ...r.response],
      featureIndex: [...featureIndex, ...r.response.map(() => -1)],
      promptLen: e.ids.length,
    };
  });
  const t = Math.max(...rows.map((r) => r.ids.length));
  const ids: number[] = [];
  const targets: number[] = [];
  const mask: number[] = [];
  const featureIndex: number[] = [];
  const positions: number[] = [];
  const bias = new Float32Array(ROWS.length * t * t).fill(-1e30);
  const responseAt: number[][] = [];
  rows.forEach((r, b) => {
    const pad = t - r.ids.length;
    const at: number[] = [];
    for (let i = 0; i < t; i++) {
      const j = i - pad; // index within the row, negative on padding
      ids.push(j < 0 ? TINY.padToken : r.ids[j]!);
      targets.push(j >= 0 && j + 1 < r.ids.length ? r.ids[j + 1]! : 0);
      const isResponse = j >= r.promptLen - 1 && j + 1 < r.ids.length;
      mask.push(isResponse ? 1 : 0);
      if (isResponse) at.push(b * t + i);
      featureIndex.push(j < 0 ? -1 : r.featureIndex[j]!);
      positions.push(Math.max(j, 0));
      // A real query sees the row's real keys up to itself; a padding query only itself (its output is never used).
      for (let k = j < 0 ? i : pad; k <= i; k++) bias[(b * t + i) * t + k] = 0;
    }
    responseAt.push(at);
  });
  const rope = rotaryTables(m.spec.text, positions);
  const hd = m.spec.text.headDim;
  return {
    responseAt,
    feeds: {
      input_ids: { dims: [2, t], data: ids, dtype: 'int32' },
      targets: { dims: [2, t], data: targets, dtype: 'int32' },
      response_mask: { dims: [2, t], data: mask },
      feature_index: { dims: [2, t], data: featureIndex, dtype: 'int32' },
      rope_cos: { dims: [2, t, hd], data: rope.cos },
      rope_sin: { dims: [2, t, hd], data: rope.sin },
      attention_bias: { dims: [2, t, t], data: bias },
    },
  };
}

describe('LLaVA text graph with unmerged LoRA: gradients match PyTorch', () => {
  it('log-probs and every LoRA A and B gradient (GQA, images, padded batch of 2)', async () => {
    const model = await writeTinyLlava({ attention: 'gqa', textLayers: 2, seed: 7 });
    const m = await openModel(model.dir);
    opened.push(m);
    const rng = createRng(11);
    const lora = initLora(m.spec.text, { rank: RANK, alpha: 4, rslora: false, targets: LORA_TARGETS }, rng);
    // B = 0 (PEFT's start) would make every A gradient zero: draw B too so both are checked.
    for (const mod of lora.modules.values()) mod.b = Float32Array.from(mod.b, () => (rng() - 0.5) * 0.5);
    const adapter = mkdtempSync(path.join(tmpdir(), 'lora-grad-'));
    await writePeftAdapter(adapter, {
      config: { r: RANK, loraAlpha: 4, useRslora: false, targetModules: [...LORA_TARGETS], loraDropout: 0 },
      layout: 'legacy',
      modules: lora.modules,
    });

    const vision = await runGraph(
      buildVisionGraph(m.spec, m.checkpoint, 3),
      { pixel_values: { dims: [3, 3, TINY.image, TINY.image], data: pixels } },
      'cpu',
      {
        externalDataFolder: model.dir,
      },
    );

    const g = new Graph('lora_grad');
    const p = externalParams(g, m.checkpoint);
    const inputs = textGraphInputs(g, m.spec, 2, 'prefill');
    const branch = loraBranch(g, lora);
    const out = llavaTextForward(p, m.spec, inputs, { hooks: branch });
    const logp = tokenLogprobs(p, m.spec, out.hidden, g.input('targets', 'int32', [2, 'seq'])); // [B, T]
    const loss = op.reduceSum(op.mul(logp, g.input('response_mask', 'float32', [2, 'seq'])), [0, 1], false);
    expect(branch.params).toHaveLength(2 * 7 * 2);
    g.output(logp, 'token_logprobs');
    gradients(loss, branch.params).forEach((gv, i) => g.output(gv, `grad.${branch.params[i]!.name}`));

    const { feeds, responseAt } = batchFeeds(m);
    const rows = m.spec.tokensPerImage * 3;
    feeds['image_features'] = { dims: [rows, TINY.hidden], data: vision['image_features']!.values };
    for (const [module, w] of lora.modules) {
      const n = loraInputNames(module);
      feeds[n.a] = { dims: [RANK, w.inFeatures], data: w.a };
      feeds[n.b] = { dims: [w.outFeatures, RANK], data: w.b };
    }
    const res = await runGraph(g, feeds, 'cpu', { externalDataFolder: model.dir });

    const ref = runReference(model.dir, {
      input_ids: [1, IMG, IMG, IMG],
      pixels: { data: pixels, shape: [3, 3, TINY.image, TINY.image] },
      lora_grad: {
        adapter,
        rows: ROWS.map((r) => ({ prompt_ids: r.prompt, response_ids: r.response, images: r.images })),
      },
    });
    const lp = res['token_logprobs']!.values;
    responseAt.forEach((at, b) =>
      expect(
        maxAbsDiff(
          at.map((i) => lp[i]!),
          ref.lora_logprobs![b]!,
        ),
      ).toBeLessThanOrEqual(2e-5),
    );
    expect(Object.keys(ref.lora_grads!).sort()).toEqual([...lora.modules.keys()].sort());
    for (const [module, r] of Object.entries(ref.lora_grads!)) {
      const n = loraInputNames(module);
      for (const [name, want] of [
        [n.a, r.A],
        [n.b, r.B],
      ] as const) {
        const got = res[`grad.${name}`]!.values;
        expect(Math.max(...want.map(Math.abs)), name).toBeGreaterThan(1e-3);
        expect(relErr(got, want), name).toBeLessThanOrEqual(1e-5);
      }
    }
  });
});
