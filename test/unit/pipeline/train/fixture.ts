// Shared by the training tests: a tiny random llava-hf model, a few test images,
// a JSONL pairs file over them, and a fake trainer (deterministic arithmetic on
// real LoRA shapes) that lets the job mechanics be checked without the graphs.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {
  DpoExample,
  DpoStepMetrics,
  DpoTrainerOptions,
  DpoTrainerState,
} from '../../../../electron/engine/train/dpo/trainer';
import { initLora, type LoraTarget, type LoraWeights } from '../../../../electron/engine/models/lora';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { loadLlavaConfig } from '../../../../electron/engine/models/config';
import { mulberry32 } from '../../../../electron/common/mulberry32';
import type { OpenTrainer, TrainEngine } from '../../../../electron/pipeline/jobs/train-job';
import { writeTinyIxc } from '../../../helpers/tiny-ixc';
import { writeTinyLlava } from '../../../helpers/tiny-llava';
import { photoLike, writeRgbPng } from '../../engine/vision/draw-images';
import { makeImage } from '../fixture-images';

export interface TrainFixture {
  dir: string;
  modelDir: string;
  pairsFile: string;
  images: string[];
}

export const PAIRS = [
  { prompt: '<image>\nWhat colour is the sky?', chosen: 'Blue.', rejected: 'Green, like grass.' },
  { prompt: 'Image1: <image>\nImage2: <image>\nWhich image is brighter?', chosen: 'The first.', rejected: 'Neither.' },
  { prompt: '<image>\nHow many dogs?', chosen: 'Two dogs.', rejected: 'Seven.' },
  { prompt: '<image>\nDescribe it.', chosen: 'A gradient.', rejected: 'A cat on a mat.' },
  { prompt: '<image>\nIs it day?', chosen: 'Yes.', rejected: 'No, it is night.' },
];

export async function trainFixture(): Promise<TrainFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'train-'));
  const modelDir = path.join(dir, 'tiny-llava');
  await writeTinyLlava({ seed: 11, textLayers: 2, visionLayers: 2 }, modelDir);
  const images: string[] = [];
  mkdirSync(path.join(dir, 'data'));
  for (let i = 0; i < 3; i++) images.push(await makeImage(path.join(dir, 'data'), `im${i}.png`, 40, 30 + i * 7, i));
  const pairsFile = path.join(dir, 'data', 'pairs.jsonl');
  const lines = PAIRS.map((p, i) => {
    const n = p.prompt.split('<image>').length - 1;
    // Relative to the file for some, absolute for others.
    const ims = Array.from({ length: n }, (_, k) => images[(i + k) % images.length]!);
    return JSON.stringify({ ...p, images: ims.map((f, k) => (k % 2 === 0 ? path.basename(f) : f)) });
  });
  writeFileSync(pairsFile, `${lines.join('\n')}\n`);
  return { dir, modelDir, pairsFile, images };
}

/** Pairs on an IXC2.5 folder: one image in front, and the method's `Image{n}:<image>` sequence header (no space). */
export const IXC_PAIRS = [
  { prompt: '<image>\nWhat colour is the sky?', chosen: 'Blue.', rejected: 'Green, like grass.', n: 1 },
  { prompt: 'Image1:<image>\nImage2:<image>\nWhich is brighter?', chosen: 'The first.', rejected: 'Neither.', n: 2 },
  { prompt: '<image>\nHow many dogs?', chosen: 'Two dogs.', rejected: 'Seven.', n: 1 },
];

/**
 * A tiny random InternLM-XComposer-2.5 folder (SentencePiece tokenizer trained for the test), two images of other
 * shapes and a pairs file of IXC_PAIRS over them; `cleanup` removes the model and the oracle's files.
 */
export async function ixcTrainFixture(seed = 21): Promise<TrainFixture & { cleanup(): void }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ixc-train-'));
  const tiny = await writeTinyIxc(seed);
  const images = [
    await writeRgbPng(path.join(dir, 'a.png'), photoLike(60, 50, 1), 60, 50),
    await writeRgbPng(path.join(dir, 'b.png'), photoLike(40, 70, 2), 40, 70),
  ];
  const pairsFile = path.join(dir, 'pairs.jsonl');
  const lines = IXC_PAIRS.map(({ n, ...p }, i) =>
    JSON.stringify({ ...p, images: n === 2 ? images : [images[i % 2]!] }),
  );
  writeFileSync(pairsFile, `${lines.join('\n')}\n`);
  return { dir, modelDir: tiny.dir, pairsFile, images, cleanup: () => tiny.cleanup() };
}

/** Deterministic stand-in for DpoTrainer: its state moves by arithmetic of the batch, lr and step; `nanAt` makes that step's loss NaN. */
export function fakeTrainer(
  opts: {
    nanAt?: number;
    calls?: string[];
    /** Awaited inside the call, so what it asks of the runner (pause, cancel) lands at this unit's boundary. */
    onReference?: () => Promise<void>;
    onStep?: (stepIndex: number, apply: boolean) => Promise<void>;
  } = {},
): OpenTrainer {
  return async (o: DpoTrainerOptions): Promise<TrainEngine> => {
    const spec = llavaSpec(await loadLlavaConfig(o.modelDir));
    const settings = { ...o.lora, targets: o.lora.targets as readonly LoraTarget[] }; // llava targets in these tests
    let lora: LoraWeights = o.init ?? initLora(spec.text, settings, mulberry32(o.seed));
    let moments = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const [name, m] of lora.modules)
      moments.set(name, { m: new Float32Array(m.b.length), v: new Float32Array(m.b.length) });
    let step = 0;
    let acc = 0;
    const sumIds = (e: Omit<DpoExample, 'refChosen' | 'refRejected'>) =>
      e.promptIds.length + e.chosenIds.reduce((s, x) => s + (x % 97), 0) / 100;
    return {
      imageFeatures: async (images) => images.map((_, i) => new Float32Array([i + 1])),
      async referenceLogprobs(examples) {
        opts.calls?.push(`reference ${examples.length}`);
        await opts.onReference?.();
        return {
          chosen: examples.map((e) => -e.chosenIds.length - sumIds(e) / 1000),
          rejected: examples.map((e) => -e.rejectedIds.length * 1.5),
        };
      },
      async step(batch, s): Promise<DpoStepMetrics> {
        opts.calls?.push(`step ${s.stepIndex} ${batch.length} ${s.apply}`);
        await opts.onStep?.(s.stepIndex, s.apply);
        for (const e of batch) acc += sumIds(e) + e.refChosen - e.refRejected + e.features.length;
        const loss = s.stepIndex + 1 === opts.nanAt ? NaN : Math.log1p(Math.abs(acc) / (1 + step));
        let gradNorm = NaN;
        if (s.apply) {
          step++;
          for (const [name, m] of lora.modules) {
            const mo = moments.get(name)!;
            for (let i = 0; i < m.b.length; i += 7) {
              const g = Math.sin(acc + i) * 1e-2;
              mo.m[i] = 0.9 * mo.m[i]! + 0.1 * g;
              mo.v[i] = 0.999 * mo.v[i]! + 0.001 * g * g;
              m.b[i] = m.b[i]! - (s.lr * mo.m[i]!) / (Math.sqrt(mo.v[i]!) + 1e-8);
            }
          }
          gradNorm = Math.abs(Math.sin(acc));
          acc = 0;
        }
        const c = -loss;
        return {
          loss,
          rewardsChosen: c / 10,
          rewardsRejected: c / 5,
          margin: c / 10,
          accuracy: 0.5,
          logpChosen: c,
          logpRejected: 2 * c,
          gradNorm,
          lr: s.lr,
          tokens: batch.reduce((t, e) => t + e.chosenIds.length + e.rejectedIds.length, 0),
          stepMs: 1,
        };
      },
      async exportState(): Promise<DpoTrainerState> {
        const copy = new Map([...lora.modules].map(([k, m]) => [k, { ...m, a: m.a.slice(), b: m.b.slice() }] as const));
        return {
          lora: { ...lora, modules: copy },
          moments: new Map([...moments].map(([k, x]) => [k, { m: x.m.slice(), v: x.v.slice() }])),
          step,
        };
      },
      async importState(st) {
        lora = st.lora;
        moments = st.moments;
        step = st.step;
      },
      close: async () => undefined,
    };
  };
}
