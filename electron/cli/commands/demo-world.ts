// `mia-dpo demo world --out DIR [--seed N] [--train N] [--bench N] [--json]`:
// writes the demo world of DEMO-WORLD.md (issue 14, item 1): LLaVA-format
// single-image training data and a held-out VLMEvalKit benchmark, ready for
// `mia-dpo import` and `mia-dpo bench import`; prints what it wrote.
import path from 'node:path';
import { z } from 'zod';
import { writeWorld, type WorldProgress, type WorldResult } from '../../pipeline/demo-world/write';
import { EXIT, jsonOutput, writeJson, type CliCommand, type CliIo } from '../command';
import { parseOptions, valueOption } from '../options';
import { ProgressBar } from '../progress';

const Options = z.strictObject({
  out: z.string().min(1),
  seed: z.int().min(0).max(0xffffffff).default(1),
  train: z.int().min(1).max(5_000_000).default(10_000),
  bench: z.int().min(1).max(100_000).default(400),
  mcqShare: z.number().min(0).max(1).default(0.5),
});

/** One bar per stage, with its rate. */
function progressTo(io: CliIo): { update(p: WorldProgress): void; end(): void } {
  let bar: ProgressBar | null = null;
  let stage = '';
  let start = 0;
  return {
    update(p) {
      if (p.stage !== stage) {
        bar?.end();
        bar = new ProgressBar(io, p.stage === 'train' ? 'training samples' : 'benchmark items');
        stage = p.stage;
        start = performance.now();
      }
      const rate = p.done / Math.max(1e-3, (performance.now() - start) / 1000);
      bar!.update({ done: p.done, total: p.total, ratePerSec: rate, etaSec: (p.total - p.done) / rate });
    },
    end: () => bar?.end(),
  };
}

function printResult(r: WorldResult, io: CliIo): void {
  const lines = [
    `wrote the demo world (seed ${r.seed}) to ${r.dir}:`,
    `  ${r.train.file}  ${r.train.samples} training samples (${r.train.mcq} in the multiple-choice form) over ${r.train.images} images in ${r.train.imagesRoot}`,
    `  ${r.bench.file}  ${r.bench.single} single-image and ${r.bench.multi} multi-image items over ${r.bench.images} held-out images`,
    `  ${r.bench.scenes}  the scenes of each benchmark item`,
    `  ${r.manifest}  the seed, the counts and the split of the world's 720 scenes (${r.split.train} train, ${r.split.heldOut} held out)`,
    `import them: mia-dpo import PROJECT --llava ${r.train.file} --images ${r.train.imagesRoot}`,
    `             mia-dpo bench import PROJECT ${r.bench.file}`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
}

export const demoWorldCommand: CliCommand = {
  name: 'world',
  summary: 'write the demo world: single-image LLaVA training data and a held-out multi-image benchmark (TSV)',
  define: (cmd) =>
    cmd
      .requiredOption('--out <DIR>', 'folder to write (new, empty, or an earlier world, which is replaced)')
      .addOption(valueOption('--seed <N>', 'seed of the split, the samples and the items', Options.shape.seed))
      .addOption(valueOption('--train <N>', 'training samples', Options.shape.train))
      .addOption(valueOption('--bench <N>', 'benchmark items per category (single and multi)', Options.shape.bench))
      .addOption(
        valueOption(
          '--mcq-share <F>',
          "share of training samples asked in the benchmark's multiple-choice form",
          Options.shape.mcqShare,
        ),
      )
      .option('--json', 'print what was written as JSON'),
  async run(args, io) {
    const { out, seed, train, bench, mcqShare } = args.values;
    const o = parseOptions(Options, { out, seed, train, bench, mcqShare });
    const progress = progressTo(io);
    const result = await writeWorld({ ...o, out: path.resolve(o.out) }, (p) => progress.update(p));
    progress.end();
    if (jsonOutput(args)) writeJson(io, { ok: true, ...result });
    else printResult(result, io);
    return EXIT.ok;
  },
};
