// The pipeline's train job on a tiny random InternLM-XComposer-2.5 folder
// (SentencePiece tokenizer trained in the test), through `mia-dpo train`: the
// pairs are tokenized as IxcAppSession prompts (image in front for one image,
// the README's `Image1 <ImageHere>; ...` form for several, images marked -200)
// and IxcSession scores (text + end of turn); the job's per-step losses and
// final LoRA equal DpoTrainer driven directly on the same pairs, order, lr
// schedule and settings; the first step's loss is ln 2; the adapter is written
// in IXC2.5's PEFT layout (official module paths, finetune.py's target list,
// base_model_name_or_path); `mia-dpo merge` folds it into a folder whose
// log-probs are base + adapter's; another family's target names, and what IXC
// training cannot take yet, are refused with the reason.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../../electron/cli/run';
import { IXC_LORA_TARGETS } from '../../../../electron/engine/models/ixc';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../../../../electron/engine/models/peft';
import { encodeIxcPrompt, IXC_TURN_END } from '../../../../electron/engine/text/ixc-prompt';
import { TextTokenizer } from '../../../../electron/engine/text/tokenizer';
import { DpoTrainer, type DpoExample } from '../../../../electron/engine/train/dpo/trainer';
import { runSchedule, stepPositions } from '../../../../electron/pipeline/jobs/train-job';
import { toFloat32 } from '../../../../electron/engine/weights/decode';
import { SafetensorsFile } from '../../../../electron/engine/weights/reader';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { IXC_PAIRS, ixcTrainFixture, type TrainFixture } from './fixture';

let fx: TrainFixture & { cleanup(): void };
let dir: string;
let pairsFile: string;
let images: string[];
let modelDir: string;

/** The same questions as IxcAppSession puts them (what the job must have tokenized). */
const QUERIES = [
  'What colour is the sky?',
  'Image1 <ImageHere>; Image2 <ImageHere>; Which is brighter?',
  'How many dogs?',
];
const SETTINGS = { steps: 3, batch: 1, gradAccum: 2, r: 4, alpha: 8, dropout: 0.1, lr: 2e-2, seed: 5 };

beforeAll(async () => {
  fx = await ixcTrainFixture();
  ({ dir, pairsFile, images, modelDir } = fx);
}, 120_000);

afterAll(() => fx?.cleanup());

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await runCli(args, { stdout, stderr, tty: false });
  return { code, out, err };
}

const trainArgs = (model: string, out: string, extra: string[] = []) => [
  'train',
  '--model',
  model,
  '--pairs',
  pairsFile,
  '--out',
  path.join(dir, out),
  '--steps',
  String(SETTINGS.steps),
  '--batch',
  String(SETTINGS.batch),
  '--grad-accum',
  String(SETTINGS.gradAccum),
  '--lora-r',
  String(SETTINGS.r),
  '--lora-alpha',
  String(SETTINGS.alpha),
  '--lora-dropout',
  String(SETTINGS.dropout),
  '--lr',
  String(SETTINGS.lr),
  '--warmup-steps',
  '0',
  '--seed',
  String(SETTINGS.seed),
  '--checkpoint-every',
  '2',
  '--ep',
  'cpu',
  ...extra,
];

interface TrainJson {
  ok: boolean;
  state: string;
  steps: Record<string, number>[];
  pairs: { prompt_ids: number[]; chosen_ids: number[]; rejected_ids: number[]; images: string[] }[];
}

describe('the train job on an IXC2.5 folder', () => {
  it('equals DpoTrainer driven directly; first step ln 2; the adapter in the IXC PEFT layout', async () => {
    const r = await cli([...trainArgs(modelDir, 'run'), '--json']);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as TrainJson;
    expect(doc).toMatchObject({ ok: true, state: 'done' });
    expect(doc.steps.map((s) => s.step)).toEqual([1, 2, 3]);

    // The pairs as the engine's own pieces tokenize them.
    const tokenizer = await TextTokenizer.fromFolder(modelDir);
    const response = (t: string) => tokenizer.encode(t + IXC_TURN_END, { addSpecialTokens: false });
    const trainer = await DpoTrainer.create({
      modelDir: modelDir,
      ep: 'cpu',
      lora: { rank: SETTINGS.r, alpha: SETTINGS.alpha, rslora: false, targets: IXC_LORA_TARGETS, dropout: 0.1 },
      dpo: { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 },
      adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
      clipNorm: 1,
      seed: SETTINGS.seed,
    });
    try {
      const pairs = [];
      for (const [i, p] of IXC_PAIRS.entries()) {
        const ims = p.n === 2 ? images : [images[i % 2]!];
        const features = await trainer.imageFeatures(ims);
        const promptIds = encodeIxcPrompt(tokenizer, { query: QUERIES[i]! }, { images: p.n }).inputIds;
        pairs.push({ promptIds, features, chosenIds: response(p.chosen), rejectedIds: response(p.rejected) });
        // train.pairs reports input_ids as generate --json does: every image row marked -200.
        const rows =
          features.reduce((n, f) => n + f.length, 0) / trainer.lora.modules.values().next().value!.inFeatures;
        expect(doc.pairs[i]!.prompt_ids.filter((t) => t === -200)).toHaveLength(rows);
        expect(doc.pairs[i]!.prompt_ids.filter((t) => t !== -200)).toEqual(promptIds.filter((t) => t !== -200));
        expect(doc.pairs[i]!.chosen_ids).toEqual(pairs[i]!.chosenIds);
        expect(doc.pairs[i]!.rejected_ids).toEqual(pairs[i]!.rejectedIds);
      }
      const ref = await trainer.referenceLogprobs(pairs);
      const examples: DpoExample[] = pairs.map((p, i) => ({
        ...p,
        refChosen: ref.chosen[i]!,
        refRejected: ref.rejected[i]!,
      }));
      const p = { batch: SETTINGS.batch, gradAccum: SETTINGS.gradAccum, shuffle: true, seed: SETTINGS.seed };
      const schedule = runSchedule({
        schedule: 'linear',
        lr: SETTINGS.lr,
        warmupSteps: 0,
        warmupRatio: 0.1,
        totalSteps: SETTINGS.steps,
      });
      const losses: number[] = [];
      for (let step = 0; step < SETTINGS.steps; step++) {
        const { micro } = stepPositions(p, pairs.length, step);
        const parts = [];
        for (const [m, idxs] of micro.entries())
          parts.push(
            await trainer.step(
              idxs.map((i) => examples[i]!),
              { lr: schedule.at(step), apply: m === micro.length - 1, stepIndex: step },
            ),
          );
        losses.push(parts.reduce((s, x) => s + x.loss, 0) / parts.length);
      }
      expect(losses[0]).toBeCloseTo(Math.LN2, 6);
      doc.steps.forEach((s, i) => expect(s.loss).toBeCloseTo(losses[i]!, 6));
      expect(losses[2]).not.toBeCloseTo(Math.LN2, 3);

      // The final adapter: official module paths, each A and B equal to the direct run's.
      const out = path.join(dir, 'run');
      const config = JSON.parse(readFileSync(path.join(out, ADAPTER_CONFIG), 'utf8')) as Record<string, unknown>;
      expect(config).toMatchObject({
        peft_type: 'LORA',
        r: SETTINGS.r,
        lora_alpha: SETTINGS.alpha,
        base_model_name_or_path: path.resolve(modelDir),
        target_modules: ['attention.wqkv', 'attention.wo', 'feed_forward.w1', 'feed_forward.w2', 'feed_forward.w3'],
      });
      const state = await trainer.exportState();
      const file = await SafetensorsFile.open(path.join(out, ADAPTER_WEIGHTS));
      try {
        expect(file.tensors).toHaveLength(2 * state.lora.modules.size);
        expect(file.tensors.map((t) => t.name)).toContain(
          'base_model.model.model.layers.0.attention.wqkv.lora_B.weight',
        );
        let moved = 0;
        for (const [module, m] of state.lora.modules) {
          for (const [half, want] of [
            ['A', m.a],
            ['B', m.b],
          ] as const) {
            const name = `base_model.model.${module}.lora_${half}.weight`;
            const got = toFloat32('F32', await file.read(name));
            const err = got.reduce((e, v, k) => Math.max(e, Math.abs(v - want[k]!)), 0);
            expect(err, name).toBeLessThanOrEqual(1e-6);
            if (half === 'B') moved = Math.max(moved, ...Array.from(got, Math.abs));
          }
        }
        expect(moved).toBeGreaterThan(0); // B left zero
      } finally {
        await file.close();
      }

      // The trained adapter folded in (`mia-dpo merge`): the merged folder's log-probs (the DPO graph's, bare) equal
      // base + adapter's, and not the base's.
      const merged = path.join(dir, 'merged');
      const m = await cli(['merge', '--model', modelDir, '--adapter', out, '--out', merged]);
      expect(m.err).not.toMatch(/mia-dpo:/);
      expect(m.code).toBe(0);
      const onMerged = await DpoTrainer.create({ ...trainer.options, modelDir: merged });
      try {
        const got = await onMerged.referenceLogprobs(pairs);
        const want = await trainer.referenceLogprobs(pairs, state.lora);
        pairs.forEach((_, i) => {
          expect(Math.abs(got.chosen[i]! - want.chosen[i]!), `pair ${i}`).toBeLessThan(1e-3);
          expect(Math.abs(got.rejected[i]! - want.rejected[i]!), `pair ${i}`).toBeLessThan(1e-3);
        });
        expect(Math.abs(got.chosen[0]! - ref.chosen[0]!)).toBeGreaterThan(1e-2);
      } finally {
        await onMerged.close();
      }
    } finally {
      await trainer.close();
    }
  }, 300_000);

  it("refuses another family's LoRA targets naming the valid ones, and what IXC training cannot take yet", async () => {
    const llava = path.join(dir, 'tiny-llava');
    await writeTinyLlava({ seed: 3, textLayers: 1, visionLayers: 1 }, llava);
    const onIxc = await cli([...trainArgs(modelDir, 'bad-1'), '--lora-targets', 'q_proj,wo']);
    expect(onIxc.code).toBe(1);
    expect(onIxc.err).toMatch(
      /InternLM-XComposer-2\.5 model: LoRA target q_proj is not among its layers; valid targets: wqkv, wo, w1, w2, w3/,
    );
    const onLlava = await cli([...trainArgs(llava, 'bad-2'), '--lora-targets', 'wqkv']);
    expect(onLlava.code).toBe(1);
    expect(onLlava.err).toMatch(
      /llava-hf model: LoRA target wqkv is not among its layers; valid targets: q_proj, k_proj/,
    );
    const init = await cli([...trainArgs(modelDir, 'bad-3'), '--init-adapter', llava]);
    expect(init.code).toBe(1);
    expect(init.err).toMatch(/--init-adapter\) is not supported for InternLM-XComposer-2\.5 training yet/);
    const int8 = await cli([...trainArgs(modelDir, 'bad-4'), '--weights', 'int8']);
    expect(int8.code).toBe(1);
    expect(int8.err).toMatch(/int8 weight format/);
  }, 120_000);
});
