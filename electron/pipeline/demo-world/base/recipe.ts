// The demo's base model, trained by the project's own engine (issue 14 item
// 2; decision 0810): the world's single-image samples (plan.ts, both the
// plain and the benchmark's multiple-choice form) drawn in memory from the
// seed, a llava-hf folder written with a tokenizer sized for the world, and
// full-parameter SFT (engine/train/sft) from a seeded random init until the
// held-out single-image accuracy, measured as the demo's evaluation measures
// it, reaches the target; then the shipped weights (fp16) are evaluated on the
// world's benchmark (single and multi) and recipe.json records how.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../../../shared/errors';
import { LlavaSession } from '../../../engine/generate/session';
import { renderPrompt } from '../../../engine/text/chat-template';
import { withImagePlaceholders } from '../../../engine/text/image-placeholders';
import { TextTokenizer } from '../../../engine/text/tokenizer';
import { learningRateSchedule } from '../../../engine/train/schedule';
import { exampleLength, type SftExample } from '../../../engine/train/sft/batch';
import { SftTrainer } from '../../../engine/train/sft/trainer';
import { preprocessRgb } from '../../../engine/vision/preprocess';
import { loadPreprocessorConfig } from '../../../engine/vision/preprocessor-config';
import { lowerFirst } from '../../augment/prompts';
import { INSTRUCTIONS } from '../../eval/prompt';
import { OPTION_LETTERS } from '../../../../shared/pipeline/eval';
import {
  MAX_OPTIONS,
  benchItems,
  describeScene,
  mcqAnswer,
  priorSamples,
  trainSamples,
  type BenchItem,
  type PriorKind,
} from '../plan';
import { createRng } from '../../random';
import { rasterize } from '../render';
import {
  ATTRIBUTES,
  ATTRIBUTE_VALUES,
  CANVAS,
  QUESTIONS,
  allScenes,
  answerText,
  sceneId,
  splitWorld,
  type Scene,
} from '../world';
import { evaluateWorldItems, summarise, writeScenePngs, type EvalSummary } from './evaluate';
import {
  BASE_MODEL_SIZE,
  baseConfig,
  initialWeights,
  specOf,
  writeModelFiles,
  writeWeights,
  type BaseModelSize,
} from './model';
import { worldTokenizer } from './tokenizer';

export interface BaseRecipeOptions {
  out: string;
  /** Seeds the world (split, samples, items) and the initial weights. */
  seed: number;
  /** The most optimizer steps; the run stops earlier once the target is reached. */
  steps: number;
  batch: number;
  /** Peak learning rate (AdamW, linear warm-up then cosine decay over `steps`). */
  lr: number;
  warmup: number;
  weightDecay: number;
  /** Share of samples in the benchmark's multiple-choice form. */
  mcqShare: number;
  /** Share of samples from the language prior (`priorSamples`; decision 0811); 0 for none. */
  priorShare: number;
  priorKind: PriorKind;
  /** Check held-out single-image accuracy every this many steps. */
  evalEvery: number;
  /** Held-out single-image items of each check. */
  checkItems: number;
  /** Benchmark items per category of the final evaluation. */
  finalItems: number;
  /** Held-out single-image accuracy at which training stops. */
  target: number;
  size: BaseModelSize;
  /** onnxruntime intra-op threads (default: its choice). */
  threads?: number;
}

export const BASE_RECIPE_DEFAULTS: Omit<BaseRecipeOptions, 'out'> = {
  seed: 1,
  steps: 2000,
  batch: 32,
  lr: 1e-3,
  warmup: 100,
  weightDecay: 0.01,
  mcqShare: 0.5,
  priorShare: 0,
  priorKind: 'text',
  evalEvery: 100,
  checkItems: 100,
  finalItems: 400,
  target: 0.98,
  size: BASE_MODEL_SIZE,
};

export type BaseProgress =
  | { kind: 'step'; step: number; steps: number; loss: number; lr: number; samplesPerSec: number }
  | { kind: 'check'; step: number; accuracy: number; items: number }
  | { kind: 'final'; stage: string };

export interface BaseRecipe {
  seed: number;
  steps: number;
  maxSteps: number;
  batch: number;
  lr: number;
  warmup: number;
  schedule: 'cosine';
  weightDecay: number;
  clipNorm: number;
  mcqShare: number;
  priorShare: number;
  priorKind: PriorKind;
  size: BaseModelSize;
  parameters: number;
  dtype: 'float16';
  wallSeconds: number;
  machine: string;
  reached: boolean;
  checks: { step: number; single: number; items: number }[];
  /** The batch loss at step 1, every 10th step and the last. */
  losses: { step: number; loss: number }[];
  final: EvalSummary & { items: number };
  command: string;
}

const CLIP_NORM = 1;

/** Every text the model reads or writes: the vocabulary's source (chat template pieces, questions, answers, the MCQ form). */
export function worldCorpus(): string[] {
  const texts = ['USER: ', ' ASSISTANT:', `\n${INSTRUCTIONS.mcq}`, 'Image1:', '\nImage2:'];
  for (const a of ATTRIBUTES) {
    texts.push(`\n${QUESTIONS[a]}`, lowerFirst(QUESTIONS[a]), `\nIn Image1, ${lowerFirst(QUESTIONS[a])}`);
    for (const v of ATTRIBUTE_VALUES[a])
      texts.push(
        answerText(a, v),
        mcqAnswer(a, v),
        ...OPTION_LETTERS.slice(0, MAX_OPTIONS).map((l) => `\n${l}. ${answerText(a, v)}`),
      );
  }
  for (const scene of allScenes()) texts.push(`Image1: ${describeScene(scene)}.`);
  return texts;
}

/** The prompt ids of a user turn as LlavaSession encodes it (chat template, one image token per image). */
function promptIdsOf(tok: TextTokenizer, human: string, images: number): number[] {
  const content = withImagePlaceholders(human, images, tok.special.image!.token);
  return tok.encode(renderPrompt(tok, [{ role: 'user', content }], { addGenerationPrompt: true }));
}

async function checkAccuracy(
  dir: string,
  items: readonly BenchItem[],
  images: ReadonlyMap<string, string>,
): Promise<EvalSummary> {
  const session = await LlavaSession.open({ modelDir: dir, ep: 'cpu' });
  try {
    return summarise(await evaluateWorldItems(session, items, images));
  } finally {
    await session.close();
  }
}

/** Trains the base model into `o.out`; returns what recipe.json records. */
export async function trainBaseModel(o: BaseRecipeOptions, progress: (p: BaseProgress) => void): Promise<BaseRecipe> {
  const started = performance.now();
  const split = splitWorld(o.seed);
  const tokFiles = worldTokenizer(worldCorpus());
  const config = baseConfig(o.size, tokFiles);
  const spec = specOf(config);
  writeModelFiles(o.out, config, tokFiles);
  const tok = await TextTokenizer.fromFolder(o.out);
  const processor = await loadPreprocessorConfig(o.out);

  // Each scene's pixels once, preprocessed as LlavaSession preprocesses an image; each prompt tokenized once.
  const pixels = new Map<string, Float32Array>();
  const prompts = new Map<string, number[]>();
  const eos = tok.special.eos!.id;
  const samples: SftExample[] = [];
  const pixelsOf = async (scene: Scene): Promise<Float32Array> => {
    const id = sceneId(scene);
    let px = pixels.get(id);
    if (!px) {
      const rgb = { width: CANVAS, height: CANVAS, data: rasterize(scene) };
      pixels.set(id, (px = (await preprocessRgb(rgb, processor, { aspect: 'crop' })).data));
    }
    return px;
  };
  const idsOf = (human: string, images: number): number[] => {
    let ids = prompts.get(human);
    if (!ids) prompts.set(human, (ids = promptIdsOf(tok, human, images)));
    return ids;
  };
  const answerIds = (answer: string): number[] => [...tok.encode(answer, { addSpecialTokens: false }), eos];
  const total = o.steps * o.batch;
  const priorCount = Math.round(total * o.priorShare);
  const single = trainSamples(split, o.seed, { count: total - priorCount, mcqShare: o.mcqShare });
  const prior = priorSamples(split, o.seed, { count: priorCount, mcqShare: o.mcqShare, kind: o.priorKind });
  // Which stream each sample comes from: a seeded draw of its own, so the single-image stream is the same for any share.
  const mix = createRng(`demo-world/base-mix/${o.seed}`);
  let priorLeft = priorCount;
  for (let left = total; left > 0; left--) {
    if (mix.next() * left < priorLeft) {
      priorLeft--;
      const p = prior.next().value!;
      const px = p.imageAt === null ? [] : [await pixelsOf(p.scenes[p.imageAt - 1]!)];
      samples.push({ promptIds: idsOf(p.human, px.length), pixels: px, answerIds: answerIds(p.gpt) });
      continue;
    }
    const s = single.next().value!;
    const answer = s.form === 'mcq' ? mcqAnswer(s.attribute, s.scene[s.attribute]) : s.gpt;
    samples.push({ promptIds: idsOf(s.human, 1), pixels: [await pixelsOf(s.scene)], answerIds: answerIds(answer) });
  }
  const seq = Math.max(...samples.map((e, i) => exampleLength(spec, e, `sample ${i + 1}`)));
  const answer = Math.max(...samples.map((e) => e.answerIds.length));

  const scratch = mkdtempSync(path.join(os.tmpdir(), 'demo-base-'));
  const check = [...benchItems(split, o.seed + 1, o.checkItems)].filter((i) => i.category === 'single');
  const final = [...benchItems(split, o.seed, o.finalItems)];
  const images = await writeScenePngs(
    scratch,
    [...check, ...final].flatMap((i) => i.scenes),
  );

  const weights = initialWeights(config, o.seed);
  const trainer = await SftTrainer.create({
    ep: 'cpu',
    spec,
    weights,
    shape: { rows: o.batch, images: o.batch, seq, answer },
    adamw: { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: o.weightDecay },
    clipNorm: CLIP_NORM,
    ...(o.threads ? { intraOpThreads: o.threads } : {}),
  });
  const schedule = learningRateSchedule({ kind: 'cosine', lr: o.lr, totalSteps: o.steps, warmupSteps: o.warmup });
  const checks: BaseRecipe['checks'] = [];
  const losses: BaseRecipe['losses'] = [];
  let reached = false;
  let step = 0;
  let lastLoss = Number.NaN;
  try {
    let smooth = Number.NaN;
    let windowStart = performance.now();
    let windowSteps = 0;
    while (step < o.steps && !reached) {
      const batch = samples.slice(step * o.batch, (step + 1) * o.batch);
      // transformers' schedule: step 0 of the warm-up has lr 0; start at the first non-zero one.
      const lr = schedule.at(step + 1);
      const r = await trainer.step(batch, lr);
      lastLoss = r.loss;
      if (!Number.isFinite(r.loss))
        throw new AppError('internal', `the loss is ${r.loss} at step ${step + 1}: training diverged (lower --lr)`);
      step++;
      windowSteps++;
      smooth = Number.isNaN(smooth) ? r.loss : 0.9 * smooth + 0.1 * r.loss;
      if (step === 1 || step % 10 === 0) losses.push({ step, loss: r.loss });
      if (step % 10 === 0 || step === o.steps) {
        const rate = (windowSteps * o.batch) / ((performance.now() - windowStart) / 1000);
        progress({ kind: 'step', step, steps: o.steps, loss: smooth, lr, samplesPerSec: rate });
        windowStart = performance.now();
        windowSteps = 0;
      }
      if (step % o.evalEvery === 0 || step === o.steps) {
        await writeWeights(o.out, await trainer.weights(), 'F16');
        const acc = (await checkAccuracy(o.out, check, images)).single;
        checks.push({ step, single: acc.accuracy, items: acc.items });
        progress({ kind: 'check', step, accuracy: acc.accuracy, items: acc.items });
        reached = acc.accuracy >= o.target;
        windowStart = performance.now();
      }
    }
    if (losses[losses.length - 1]?.step !== step) losses.push({ step, loss: lastLoss });
    progress({ kind: 'final', stage: `evaluating the fp16 weights on ${final.length} benchmark items` });
    const summary = await checkAccuracy(o.out, final, images);
    const parameters = [...weights.values()].reduce((n, t) => n + t.values.length, 0);
    const recipe: BaseRecipe = {
      seed: o.seed,
      steps: step,
      maxSteps: o.steps,
      batch: o.batch,
      lr: o.lr,
      warmup: o.warmup,
      schedule: 'cosine',
      weightDecay: o.weightDecay,
      clipNorm: CLIP_NORM,
      mcqShare: o.mcqShare,
      priorShare: o.priorShare,
      priorKind: o.priorKind,
      size: o.size,
      parameters,
      dtype: 'float16',
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
      machine: `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${os.platform()} ${os.arch()}, node ${process.version}`,
      reached,
      checks,
      losses,
      final: { ...summary, items: final.length },
      command: `mia-dpo demo base --seed ${o.seed} --steps ${o.steps} --batch ${o.batch} --lr ${o.lr} --warmup ${o.warmup}${o.priorShare > 0 ? ` --prior-share ${o.priorShare} --prior ${o.priorKind}` : ''}`,
    };
    writeFileSync(path.join(o.out, 'recipe.json'), `${JSON.stringify(recipe, null, 2)}\n`);
    return recipe;
  } finally {
    await trainer.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}
