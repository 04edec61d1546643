// What the demo world's files hold, drawn from a seed (issue 14, item 1):
// single-image training samples over the training scenes and benchmark items
// (single, and sequence items of 2-4 images) over the held-out scenes of
// ./world.ts. Pure and lazy (generators), so any size streams; each part has
// its own random stream, so the benchmark of a seed does not change with the
// number of training samples asked for.
import { lowerFirst } from '../augment/prompts';
import { buildPrompt } from '../eval/prompt';
import { createRng, sampleDistinct, shuffled, type Rng } from '../random';
import { OPTION_LETTERS } from '../../../shared/pipeline/eval';
import { IMAGE_PLACEHOLDER } from '../../engine/text/image-placeholders';
import {
  ATTRIBUTES,
  ATTRIBUTE_VALUES,
  QUESTIONS,
  answerText,
  type Attribute,
  type Scene,
  type WorldSplit,
} from './world';

/** At most this many options per benchmark item (A-D); size has two values, so two options. */
export const MAX_OPTIONS = 4;

export interface Choice {
  /** Answer strings in letter order. */
  options: string[];
  /** The correct option's letter. */
  answer: string;
}

export interface TrainSample {
  id: string;
  scene: Scene;
  attribute: Attribute;
  /**
   * `plain`: the question, answered with DEMO-WORLD's answer string; `mcq`: the benchmark's prompt form, answered with
   * the letter, or with the correct option's text in a sentence (`mcqAnswers: 'sentence'`, `mcqAnswer`).
   */
  form: 'plain' | 'mcq';
  human: string;
  gpt: string;
}

export interface BenchItem {
  index: string;
  category: 'single' | 'multi';
  attribute: Attribute;
  /** The images in order; `scenes[target - 1]` is the one asked about. */
  scenes: Scene[];
  /** 1-based. */
  target: number;
  /** The prompt text after the image list (the TSV's `question`). */
  question: string;
  options: string[];
  answer: string;
}

const valueOf = (scene: Scene, a: Attribute): string => scene[a];

/**
 * Options for a question whose answer is `correct`: the values `shown` in the
 * other images first (distinct, other than the correct one), then other values
 * of the attribute at random, at most MAX_OPTIONS, in a random order.
 */
export function chooseOptions(rng: Rng, attribute: Attribute, correct: string, shown: readonly string[]): Choice {
  const values: string[] = [correct];
  for (const v of shown) if (!values.includes(v) && values.length < MAX_OPTIONS) values.push(v);
  const rest = shuffled(
    rng,
    ATTRIBUTE_VALUES[attribute].filter((v) => !values.includes(v)),
  );
  while (values.length < MAX_OPTIONS && rest.length > 0) values.push(rest.shift()!);
  const order = shuffled(rng, values);
  return {
    options: order.map((v) => answerText(attribute, v)),
    answer: OPTION_LETTERS[order.indexOf(correct)]!,
  };
}

/** Cycles through seeded permutations of `items`: every item once per round, so counts stay balanced. */
function rounds<T>(rng: Rng, items: readonly T[]): () => T {
  let order: T[] = [];
  return () => {
    if (order.length === 0) order = shuffled(rng, items);
    return order.pop()!;
  };
}

const mcqPrompt = (question: string, options: readonly string[], images: number): string =>
  buildPrompt({
    question,
    hint: null,
    options: options.map((text, i) => ({ letter: OPTION_LETTERS[i]!, text })),
    kind: 'mcq',
    imageCount: images,
  });

/**
 * The answer the base model is trained to give a multiple-choice prompt: the correct option's text in a
 * sentence ("It is a circle."), not its letter (decision 0810: letters did not train in the time here).
 * VLMEvalKit's extraction (eval/extract.ts) finds exactly that option's text in it, and it holds no
 * capital A-D word that would read as a letter.
 */
export function mcqAnswer(attribute: Attribute, value: string): string {
  return `It is ${lowerFirst(answerText(attribute, value))}`;
}

/** How a multiple-choice sample is answered: with the option's letter, or as the base model answers (`mcqAnswer`). */
export const MCQ_ANSWER_FORMS = ['letter', 'sentence'] as const;
export type McqAnswerForm = (typeof MCQ_ANSWER_FORMS)[number];

export interface TrainOptions {
  count: number;
  /** Share of samples asked in the benchmark's multiple-choice form, in [0, 1]. */
  mcqShare: number;
  /** The multiple-choice samples' answer; default the letter. */
  mcqAnswers?: McqAnswerForm;
}

/**
 * `count` single-image samples: scenes in rounds over the training scenes,
 * attributes in rounds of four, a sample in the multiple-choice form with
 * probability `mcqShare`.
 */
export function* trainSamples(split: WorldSplit, seed: number, o: TrainOptions): Generator<TrainSample> {
  const rng = createRng(`demo-world/train/${seed}`);
  const nextScene = rounds(rng, split.train);
  const nextAttribute = rounds(rng, ATTRIBUTES);
  const width = String(o.count).length;
  for (let i = 0; i < o.count; i++) {
    const scene = nextScene();
    const attribute = nextAttribute();
    const mcq = rng.next() < o.mcqShare;
    const id = `world-train-${String(i + 1).padStart(width, '0')}`;
    const value = valueOf(scene, attribute);
    if (!mcq) {
      const human = `${IMAGE_PLACEHOLDER}\n${QUESTIONS[attribute]}`;
      yield { id, scene, attribute, form: 'plain', human, gpt: answerText(attribute, value) };
      continue;
    }
    const c = chooseOptions(rng, attribute, value, []);
    const gpt = o.mcqAnswers === 'sentence' ? mcqAnswer(attribute, value) : c.answer;
    yield { id, scene, attribute, form: 'mcq', human: mcqPrompt(QUESTIONS[attribute], c.options, 1), gpt };
  }
}

/**
 * `count` single-image items in the benchmark's multiple-choice form over the *training* scenes (a stream of its
 * own, so neither the training samples nor the benchmark change): the demo's collapse guard answers them during
 * training to watch single-image skill without touching the held-out benchmark.
 */
export function* guardItems(split: WorldSplit, seed: number, count: number): Generator<BenchItem> {
  const rng = createRng(`demo-world/guard/${seed}`);
  const width = String(count).length;
  const nextScene = rounds(rng, split.train);
  const nextAttribute = rounds(rng, ATTRIBUTES);
  for (let i = 0; i < count; i++) {
    const scene = nextScene();
    const attribute = nextAttribute();
    const c = chooseOptions(rng, attribute, valueOf(scene, attribute), []);
    const index = `guard-${String(i + 1).padStart(width, '0')}`;
    yield { index, category: 'single', attribute, scenes: [scene], target: 1, question: QUESTIONS[attribute], ...c };
  }
}

/** Images in a multi-image item: 2 to 4. */
export const MULTI_IMAGES = { min: 2, max: 4 } as const;

/**
 * A sequence of 2-4 scenes around `target`, asked about `attribute`: its place `at` (1-based) drawn at random, the
 * other scenes distinct ones from `pool` whose asked attribute differs from the target's, so answering about the
 * wrong image gives a plausible wrong answer.
 */
function drawSequence(
  rng: Rng,
  pool: readonly Scene[],
  target: Scene,
  attribute: Attribute,
): { scenes: Scene[]; at: number; distractors: Scene[] } {
  const images = MULTI_IMAGES.min + rng.int(MULTI_IMAGES.max - MULTI_IMAGES.min + 1);
  const at = 1 + rng.int(images);
  const value = valueOf(target, attribute);
  const distractors = sampleDistinct(
    rng,
    pool.filter((s) => valueOf(s, attribute) !== value),
    images - 1,
  );
  return { scenes: [...distractors.slice(0, at - 1), target, ...distractors.slice(at - 1)], at, distractors };
}

const POSITION_WORDS: Record<Scene['position'], string> = {
  'top-left': 'in the top left',
  'top-right': 'in the top right',
  'bottom-left': 'in the bottom left',
  'bottom-right': 'in the bottom right',
  centre: 'in the centre',
};

/** A scene in words, as a caption says it: "a large red circle in the top left". */
export function describeScene(s: Scene): string {
  return `a ${s.size} ${s.colour} ${s.shape} ${POSITION_WORDS[s.position]}`;
}

/**
 * The language prior's kinds (decision 0811): `text`, every image of a sequence prompt given as its caption;
 * `mixed`, one of them a real image (one image per sample: still single-image data), the others captions.
 */
export const PRIOR_KINDS = ['text', 'mixed'] as const;
export type PriorKind = (typeof PRIOR_KINDS)[number];

export interface PriorSample {
  id: string;
  attribute: Attribute;
  /** The described (or shown) scenes in order; `scenes[target - 1]` is the one asked about. */
  scenes: Scene[];
  target: number;
  /** 1-based index of the one real image (`mixed`); null when every scene is a caption. */
  imageAt: number | null;
  form: 'plain' | 'mcq';
  human: string;
  gpt: string;
}

/**
 * `count` samples of the language prior over the *training* scenes: the method's sequence prompt
 * (`Image{i}:` labels, then `In Image{k}, <question>`, plain or in the multiple-choice form) with each
 * image's place taken by its caption (`describeScene`), except, for `mixed`, one real image. Distractors
 * differ from the target in the asked attribute, as in the benchmark. Answers as the base model answers
 * (plain answer strings; `mcqAnswer` sentences).
 */
export function* priorSamples(
  split: WorldSplit,
  seed: number,
  o: { count: number; mcqShare: number; kind: PriorKind },
): Generator<PriorSample> {
  const rng = createRng(`demo-world/prior/${o.kind}/${seed}`);
  const width = String(o.count).length;
  const nextScene = rounds(rng, split.train);
  const nextAttribute = rounds(rng, ATTRIBUTES);
  for (let i = 0; i < o.count; i++) {
    const target = nextScene();
    const attribute = nextAttribute();
    const { scenes, at, distractors } = drawSequence(rng, split.train, target, attribute);
    const value = valueOf(target, attribute);
    const imageAt = o.kind === 'mixed' ? 1 + rng.int(scenes.length) : null;
    let header = '';
    scenes.forEach((s, j) => {
      header += j + 1 === imageAt ? `Image${j + 1}:${IMAGE_PLACEHOLDER}\n` : `Image${j + 1}: ${describeScene(s)}.\n`;
    });
    const question = `In Image${at}, ${lowerFirst(QUESTIONS[attribute])}`;
    const mcq = rng.next() < o.mcqShare;
    const id = `world-prior-${String(i + 1).padStart(width, '0')}`;
    const base = { id, attribute, scenes, target: at, imageAt };
    if (!mcq) {
      yield { ...base, form: 'plain', human: `${header}${question}`, gpt: answerText(attribute, value) };
      continue;
    }
    const c = chooseOptions(
      rng,
      attribute,
      value,
      distractors.map((s) => valueOf(s, attribute)),
    );
    yield {
      ...base,
      form: 'mcq',
      human: `${header}${mcqPrompt(question, c.options, 0)}`,
      gpt: mcqAnswer(attribute, value),
    };
  }
}

/**
 * `perCategory` single-image items, then `perCategory` sequence items of 2-4
 * images, all over the held-out scenes. A multi-image item asks
 * `In Image{k}, <question>`; its other images are distinct held-out scenes
 * whose asked attribute differs from the target's, so answering about the
 * wrong image gives a plausible wrong answer.
 */
export function* benchItems(split: WorldSplit, seed: number, perCategory: number): Generator<BenchItem> {
  const rng = createRng(`demo-world/bench/${seed}`);
  const width = String(perCategory).length;
  const nextScene = rounds(rng, split.heldOut);
  const nextAttribute = rounds(rng, ATTRIBUTES);
  for (let i = 0; i < perCategory; i++) {
    const scene = nextScene();
    const attribute = nextAttribute();
    const c = chooseOptions(rng, attribute, valueOf(scene, attribute), []);
    const index = `single-${String(i + 1).padStart(width, '0')}`;
    yield { index, category: 'single', attribute, scenes: [scene], target: 1, question: QUESTIONS[attribute], ...c };
  }
  for (let i = 0; i < perCategory; i++) {
    const target = nextScene();
    const attribute = nextAttribute();
    const { scenes, at, distractors } = drawSequence(rng, split.heldOut, target, attribute);
    const value = valueOf(target, attribute);
    const c = chooseOptions(
      rng,
      attribute,
      value,
      distractors.map((s) => valueOf(s, attribute)),
    );
    const index = `multi-${String(i + 1).padStart(width, '0')}`;
    const question = `In Image${at}, ${lowerFirst(QUESTIONS[attribute])}`;
    yield { index, category: 'multi', attribute, scenes, target: at, question, ...c };
  }
}
