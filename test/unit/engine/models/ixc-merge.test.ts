// `mia-dpo merge` on an InternLM-XComposer-2.5 folder (tiny random, sharded,
// with the lora_sft / lora_dpo / lora_web mode adapters): an adapter on all
// five targets, exported in IXC2.5's PEFT layout, folded into wqkv / wo / w1 /
// w2 / w3 (packed wqkv: B's rows in the packed q/k/v order). Every merged
// weight equals the float64 merge of test/reference/merge_ref.py (read by the
// PEFT key names) rounded to float32; every other tensor (PLoRA, mode
// adapters, vision, separators) is copied byte for byte; the merged folder
// opens, generates and scores as base + adapter does through the DPO graph's
// log-probs (DpoTrainer.referenceLogprobs with the adapter), and not as the base.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../../electron/common/mulberry32';
import { IxcSession } from '../../../../electron/engine/generate/ixc-session';
import { IxcCheckpoint } from '../../../../electron/engine/models/checkpoint-ixc';
import { ixcLoraModules, ixcSpec, IXC_LORA_TARGETS } from '../../../../electron/engine/models/ixc';
import type { LoraWeights } from '../../../../electron/engine/models/lora';
import { mergeAdapter } from '../../../../electron/engine/models/merge';
import { exportPeftAdapter } from '../../../../electron/engine/models/peft-export';
import { encodeIxcPrompt } from '../../../../electron/engine/text/ixc-prompt';
import { DPO_DEFAULTS, DpoTrainer } from '../../../../electron/engine/train/dpo/trainer';
import { ADAMW_DEFAULTS } from '../../../../electron/engine/train/adamw';
import { toFloat32 } from '../../../../electron/engine/weights/decode';
import { runReference } from '../../../helpers/reference';
import { writeTinyIxc, type TinyIxc } from '../../../helpers/tiny-ixc';
import { photoLike, tempDir, writeRgbPng } from '../vision/draw-images';

const R = 4;
const ALPHA = 8;
const QUERY = 'What is in the picture?';
let tiny: TinyIxc;
let dir: string;
let lora: LoraWeights;

beforeAll(async () => {
  // No dynamic NTK inside these lengths: the merged session and the DPO graph see the same rotary base.
  tiny = await writeTinyIxc(17, undefined, { modeAdapters: true, shardBytes: 200_000, maxPositions: 4096 });
  dir = tempDir('ixc-merge-');
  const c = await IxcCheckpoint.open(tiny.dir);
  const spec = ixcSpec(c.config, c.ploraRank);
  await c.close();
  const rng = mulberry32(9);
  const u = (n: number, s: number) => Float32Array.from({ length: n }, () => (2 * rng() - 1) * s);
  lora = {
    rank: R,
    scale: ALPHA / R,
    modules: new Map(
      ixcLoraModules(spec, IXC_LORA_TARGETS).map((m) => [
        m.module,
        {
          a: u(R * m.inFeatures, 0.3),
          b: u(m.outFeatures * R, 0.3),
          inFeatures: m.inFeatures,
          outFeatures: m.outFeatures,
        },
      ]),
    ),
  };
  const settings = { r: R, alpha: ALPHA, dropout: 0, rslora: false, targets: IXC_LORA_TARGETS };
  await exportPeftAdapter(path.join(dir, 'adapter'), { baseDir: tiny.dir, lora, settings });
}, 120_000);

afterAll(() => tiny?.cleanup());

describe('merge into an IXC2.5 folder', () => {
  it('merged weights equal the float64 merge; everything else is copied; it scores as base + adapter', async () => {
    const out = path.join(dir, 'merged');
    const result = await mergeAdapter({ modelDir: tiny.dir, adapterDir: path.join(dir, 'adapter'), outDir: out });
    expect(result.merged).toEqual([...lora.modules.keys()].sort());

    const ref = runReference('merge_ref.py', [tiny.dir, path.join(dir, 'adapter')]);
    expect(ref.tensors.size).toBe(lora.modules.size);
    const base = await IxcCheckpoint.open(tiny.dir);
    const merged = await IxcCheckpoint.open(out);
    try {
      expect(merged.modeAdapters).toEqual(['lora_sft', 'lora_dpo', 'lora_web']);
      expect(merged.weights.names().sort()).toEqual(base.weights.names().sort());
      for (const [name, want] of ref.tensors) {
        const got = toFloat32('F32', await merged.weights.read(name));
        const diff = got.findIndex((v, i) => v !== want.data[i]);
        expect(diff, `${name} differs at ${diff}`).toBe(-1);
        const before = toFloat32('F32', await base.weights.read(name));
        expect(
          before.some((v, i) => v !== got[i]),
          name,
        ).toBe(true);
      }
      let copied = 0;
      for (const name of base.weights.names()) {
        if (ref.tensors.has(name)) continue;
        expect(
          Buffer.from(await merged.weights.read(name)).equals(Buffer.from(await base.weights.read(name))),
          name,
        ).toBe(true);
        copied++;
      }
      expect(copied).toBeGreaterThan(0);
      expect(base.weights.names().some((n) => /\.Plora_B\.weight$/.test(n))).toBe(true);
      expect(base.weights.names().some((n) => /\.lora_dpo_A\.weight$/.test(n))).toBe(true);
    } finally {
      await merged.close();
      await base.close();
    }

    // Scores: the merged folder (IxcSession) against base + adapter through the DPO graph's log-probs.
    const image = await writeRgbPng(path.join(dir, 'a.png'), photoLike(60, 50, 3), 60, 50);
    const trainer = await DpoTrainer.create({
      modelDir: tiny.dir,
      ep: 'cpu',
      lora: { rank: R, alpha: ALPHA, rslora: false, targets: IXC_LORA_TARGETS, dropout: 0 },
      dpo: DPO_DEFAULTS,
      adamw: ADAMW_DEFAULTS,
      seed: 1,
    });
    const session = await IxcSession.open(out, { ep: 'cpu' });
    try {
      const features = await trainer.imageFeatures([image]);
      const pair = {
        promptIds: encodeIxcPrompt(session.tokenizer, { query: QUERY }, { images: 1 }).inputIds,
        features,
        chosenIds: session.responseIds('a small red cat'),
        rejectedIds: session.responseIds('nothing at all'),
      };
      const withAdapter = await trainer.referenceLogprobs([pair], lora);
      const bare = await trainer.referenceLogprobs([pair]);
      const scored = await session.score({ query: QUERY }, features, ['a small red cat', 'nothing at all']);
      const got = scored.sumLogprobs;
      const want = [withAdapter.chosen[0]!, withAdapter.rejected[0]!];
      got.forEach((v, i) => expect(Math.abs(v - want[i]!), `response ${i}`).toBeLessThan(1e-3));
      const moved = Math.max(Math.abs(got[0]! - bare.chosen[0]!), Math.abs(got[1]! - bare.rejected[0]!));
      expect(moved).toBeGreaterThan(0.05);
      const answer = await session.answer({ prompt: { query: QUERY }, images: features, maxNewTokens: 3 });
      expect(answer.generation.tokens.length).toBeGreaterThan(0);
    } finally {
      await session.close();
      await trainer.close();
    }
  }, 240_000);
});
