// The demo's numbers, in one place (issue 14, item 3; docs/demo.md explains
// each): how much world to draw, how many multi-image samples to build and
// answer, the LoRA-DPO settings that keep a ~1M-parameter model's single-image
// skill, and the collapse guard. `full` fits the whole run in minutes on two
// CPU cores; `quick` runs every stage on a few items, for CI.
import type { TrainOptionsIn } from '../../../shared/pipeline/train';

export interface DemoSizes {
  /** Single-image training samples in the world (train.json). */
  worldSamples: number;
  /** Benchmark items per category (single and multi), held-out scenes only. */
  benchItems: number;
  /** Multi-image samples augmented from them and answered by the base model. */
  augment: number;
  /** Tokens the base model generates at most per answer (the world's longest answer is 4 tokens plus the end). */
  maxNewTokens: number;
  /** Optimizer steps of the LoRA-DPO run, at most (fewer when the kept pairs run out: see `epochsAtMost`). */
  steps: number;
  /** Pairs per micro-batch and micro-batches per step. */
  batch: number;
  gradAccum: number;
  /** A checkpoint every N steps: where the collapse guard checks single-image skill and falls back to. */
  checkpointEvery: number;
  /** Single-image items over training scenes the collapse guard answers at each checkpoint. */
  guardItems: number;
}

export const DEMO_SIZES = {
  full: {
    worldSamples: 4000,
    benchItems: 1000,
    augment: 3000,
    maxNewTokens: 8,
    steps: 100,
    batch: 8,
    gradAccum: 2,
    checkpointEvery: 10,
    guardItems: 64,
  },
  quick: {
    worldSamples: 120,
    benchItems: 4,
    augment: 96,
    maxNewTokens: 6,
    steps: 2,
    batch: 2,
    gradAccum: 1,
    checkpointEvery: 1,
    guardItems: 4,
  },
} as const satisfies Record<'full' | 'quick', DemoSizes>;

/** At most this many passes over the kept pairs (a few hundred pairs must not be seen a dozen times). */
export const EPOCHS_AT_MOST = 4;

/**
 * LoRA-DPO for a tiny model (DEMO-WORLD.md's measurements, docs/demo.md): the reference run's lr 5e-5 on an effective
 * batch of 64 is meant for 7B models; at lr 5e-3 a tiny model lost its single-image skill (74% -> 1%). Measured on the
 * shipped base model (docs/demo.md, seed 1; 3000 answers keep about 210 pairs at the paper's thresholds, 53 steps x
 * 16): lr 1e-3 holds single-image accuracy (98.2% -> 98.2%), 2e-3 costs 1.4 points; the collapse once measured at 2e-3
 * (98.5% -> 14%) came from pairs that taught the option's letter (DEMO_WORLD), not from the lr. More steps or LoRA on
 * every linear cost single-image skill without a multi-image gain (decision 0811). DPO plus an SFT term of weight 1 on
 * the chosen answer, a rank-8 LoRA on the attention projections only, and the usual beta 0.1.
 */
export const DEMO_TRAIN = {
  lr: 1e-3,
  beta: 0.1,
  loss: 'sigmoid',
  sftWeight: 1,
  loraR: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  loraTargets: ['q_proj', 'k_proj', 'v_proj'],
  schedule: 'linear',
  warmupRatio: 0.1,
  clipNorm: 1,
} as const satisfies Partial<TrainOptionsIn>;

/**
 * The collapse guards. Single-image skill (docs/demo.md): at every checkpoint the run pauses and the checkpoint answers
 * `guardItems` single-image multiple-choice items over *training* scenes (the world's guard.tsv, never the benchmark);
 * when its accuracy is more than `guardDropPoints` below the base's, the run stops and the last checkpoint that passed
 * is the adapter. The chosen answers' log-prob: when a step's summed log-prob falls `chosenDropNats` below the
 * reference's (the batch mean; 1 nat: their likelihood fell by e), the run stops and the newest checkpoint before that
 * step is the adapter. After evaluation: the adapter's single-image accuracy on the benchmark is reported as held when
 * it is no more than `singleDropPoints` below the base's.
 */
export const DEMO_GUARD = { chosenDropNats: 1, guardDropPoints: 5, singleDropPoints: 5 } as const;

/** The collapse guard's slice in the demo project (the world's guard.tsv). */
export const DEMO_GUARD_BENCH = 'guard';

/**
 * Composite geometry for the world's 112 px images: the reference's 448 px tiles, 40 px margins and 36 px labels
 * scaled by a quarter, so a grid or a pic-in-pic shows the world's images at their own size.
 */
export const DEMO_GEOMETRY = { tileSize: 112, margin: 10, labelOffsetX: 5, labelFontPx: 9 } as const;

/**
 * The world the demo draws its single-image samples from: half of them in the benchmark's multiple-choice form (as
 * the base model was trained), answered as the base model was taught to answer them, with the correct option's text
 * in a sentence ("It is a circle.", decision 0810), not the letter: a multi-image sample's ground truth must be in the
 * form the model answers, or every answer to a multiple-choice sample differs from it and becomes a "wrong" answer,
 * the right ones included.
 */
export const DEMO_WORLD = { mcqShare: 0.5, mcqAnswers: 'sentence' } as const;

/**
 * The demo project's pipeline settings over the reference defaults (a `pipeline.settings.set` patch): the composite
 * geometry for the world's scale, and no post-selection (decision 0831): the paper's perplexity > 1.1 keeps about 220
 * of this confident model's 3000 answers, on which no variant moved multi-image accuracy; the paper's attention
 * thresholds alone keep about 1840, and those move it (docs/demo.md). Everything else is the reference's.
 */
export const DEMO_PIPELINE: Record<string, unknown> = {
  geometry: DEMO_GEOMETRY,
  selection: { post: { perplexity: { min: null } } },
};

/** The benchmark's name in the demo project. */
export const DEMO_BENCH = 'world';
