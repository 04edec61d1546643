// `mia-dpo demo base --out DIR [--seed N] [--steps N] [--json]` (issue 14
// item 2): trains the demo's base model (a small llava-hf model, full SFT
// from a seeded random init on the demo world's single-image data) until its
// held-out single-image accuracy reaches the target, and writes the model
// folder with recipe.json. `npm run demo:base` writes demo/base-model/.
// Exits 1 when the step budget ran out before the target.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import { PRIOR_KINDS } from '../../pipeline/demo-world/plan';
import { BASE_MODEL_SIZE, TINY_MODEL_SIZE } from '../../pipeline/demo-world/base/model';
import {
  BASE_RECIPE_DEFAULTS as D,
  trainBaseModel,
  type BaseProgress,
  type BaseRecipe,
} from '../../pipeline/demo-world/base/recipe';
import { EXIT, jsonOutput, writeJson, type CliCommand, type CliIo } from '../command';
import { parseOptions, valueOption } from '../options';

const SIZES = { base: BASE_MODEL_SIZE, tiny: TINY_MODEL_SIZE } as const;

const Options = z.strictObject({
  out: z.string().min(1),
  seed: z.int().min(0).max(0xffffffff).default(D.seed),
  steps: z.int().min(1).max(1_000_000).default(D.steps),
  batch: z.int().min(1).max(1024).default(D.batch),
  lr: z.number().positive().max(1).default(D.lr),
  warmup: z.int().min(0).default(D.warmup),
  evalEvery: z.int().min(1).default(D.evalEvery),
  checkItems: z.int().min(1).max(100_000).default(D.checkItems),
  finalItems: z.int().min(1).max(100_000).default(D.finalItems),
  target: z.number().min(0).max(1).default(D.target),
  size: z.enum(['base', 'tiny']).default('base'),
  priorShare: z.number().min(0).max(1).default(D.priorShare),
  prior: z.enum(PRIOR_KINDS).default(D.priorKind),
});

/** The folder must be new, empty, or an earlier model (it has config.json), which is replaced. */
function checkOut(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length > 0 && !entries.includes('config.json'))
    throw new AppError(
      'conflict',
      `${dir} is not empty and holds no model; give the base model a new or empty folder`,
      {
        subject: dir,
      },
    );
}

function progressLine(p: BaseProgress): string {
  switch (p.kind) {
    case 'step':
      return `step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  lr ${p.lr.toExponential(2)}  ${p.samplesPerSec.toFixed(1)} samples/s`;
    case 'check':
      return `step ${p.step}: held-out single-image accuracy ${(100 * p.accuracy).toFixed(1)}% (${p.items} items)`;
    case 'final':
      return p.stage;
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function printResult(r: BaseRecipe, dir: string, io: CliIo): void {
  const f = r.final;
  const lines = [
    `${r.reached ? 'trained' : 'stopped at the step limit before the target:'} ${dir} (${r.parameters} parameters, fp16) in ${r.steps} steps x ${r.batch}, ${r.wallSeconds} s`,
    `  single-image accuracy ${pct(f.single.accuracy)} (${f.single.correct}/${f.single.items} held-out items)`,
    `  multi-image accuracy  ${pct(f.multi.accuracy)} (${f.multi.correct}/${f.multi.items})`,
    `  wrong multi-image answers naming a distractor image's value: ${f.multiWrongNamingDistractor}/${f.multiWrong} (${pct(f.distractorShare)})`,
    `  recipe: ${path.join(dir, 'recipe.json')}`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const demoBaseCommand: CliCommand = {
  name: 'base',
  summary: "train the demo's base model (full SFT from scratch on the demo world) into a llava-hf folder",
  define: (cmd) =>
    cmd
      .requiredOption('--out <DIR>', 'model folder to write (new, empty, or an earlier model, which is replaced)')
      .addOption(valueOption('--seed <N>', 'seed of the world and the initial weights', Options.shape.seed))
      .addOption(valueOption('--steps <N>', 'most optimizer steps (stops earlier at the target)', Options.shape.steps))
      .addOption(valueOption('--batch <N>', 'samples per step', Options.shape.batch))
      .addOption(valueOption('--lr <F>', 'peak learning rate (warm-up, then cosine decay)', Options.shape.lr))
      .addOption(valueOption('--warmup <N>', 'warm-up steps', Options.shape.warmup))
      .addOption(valueOption('--eval-every <N>', 'steps between held-out accuracy checks', Options.shape.evalEvery))
      .addOption(valueOption('--check-items <N>', 'held-out single-image items per check', Options.shape.checkItems))
      .addOption(
        valueOption(
          '--final-items <N>',
          'benchmark items per category of the final evaluation',
          Options.shape.finalItems,
        ),
      )
      .addOption(valueOption('--target <F>', 'held-out single-image accuracy that ends training', Options.shape.target))
      .addOption(
        valueOption(
          '--prior-share <F>',
          "share of samples from the language prior (captions in the images' places; decision 0811)",
          Options.shape.priorShare,
        ),
      )
      .addOption(
        valueOption('--prior <KIND>', 'text: captions only; mixed: one real image among captions', Options.shape.prior),
      )
      .addOption(valueOption('--size <S>', 'model size (tiny: for tests)', Options.shape.size))
      .option('--json', 'print recipe.json on stdout'),
  async run(args, io) {
    const v = args.values;
    const o = parseOptions(Options, {
      out: v['out'],
      seed: v['seed'],
      steps: v['steps'],
      batch: v['batch'],
      lr: v['lr'],
      warmup: v['warmup'],
      evalEvery: v['evalEvery'],
      checkItems: v['checkItems'],
      finalItems: v['finalItems'],
      target: v['target'],
      size: v['size'],
      priorShare: v['priorShare'],
      prior: v['prior'],
    });
    const out = path.resolve(o.out);
    checkOut(out);
    const json = jsonOutput(args);
    const say = (line: string): void => void (json ? io.stderr : io.stdout).write(`${line}\n`);
    const recipe = await trainBaseModel({ ...D, ...o, priorKind: o.prior, out, size: SIZES[o.size] }, (p) =>
      say(progressLine(p)),
    );
    if (json) writeJson(io, recipe);
    else printResult(recipe, out, io);
    return recipe.reached ? EXIT.ok : EXIT.failure;
  },
};
