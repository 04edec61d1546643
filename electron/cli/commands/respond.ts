// `mia-dpo respond DIR --model MODEL ...`: runs the response-generation job
// (issue #4, step 3) over every augmented sample the model has not answered,
// to the end, and reports how many it answered. Ctrl-C cancels between
// samples. Options, bounds and defaults are the `pipeline.respond` request's.
import path from 'node:path';
import { RespondOptions } from '../../../shared/pipeline/respond';
import { positional, jsonOutput, UsageError, type CliCommand } from '../command';
import { chooseEp } from '../ep-line';
import { runJobCommand } from '../job-command';
import { parseOptions, valueOption } from '../options';

const F = RespondOptions.shape;

/** The request the options make; `--pad` / `--crop` set the aspect (pad when neither), an adapter folder is made absolute. */
export function respondRequest(values: Record<string, unknown>): RespondOptions {
  const {
    model,
    adapter,
    ep,
    weights,
    weightBlock,
    layer,
    maxNewTokens,
    temperature,
    seed,
    perturb,
    pad,
    crop,
    template,
  } = values;
  if (pad === true && crop === true)
    throw new UsageError('--pad and --crop exclude each other: give one (pad is the default)');
  const adapterDir = typeof adapter === 'string' && adapter !== '' ? path.resolve(adapter) : adapter;
  const aspect = crop === true ? 'crop' : pad === true ? 'pad' : undefined;
  const input = {
    model,
    adapter: adapterDir,
    ep,
    weights,
    weightBlock,
    layer,
    maxNewTokens,
    temperature,
    seed,
    perturb,
    aspect,
    template,
  };
  return parseOptions(RespondOptions, input, { aspect: '--pad/--crop' });
}

export const respondCommand: CliCommand = {
  name: 'respond',
  summary: 'answer the augmented samples with a model, recording attention',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .requiredOption('--model <DIR>', 'llava-hf model folder')
      .addOption(valueOption('--adapter <DIR>', 'PEFT LoRA adapter folder applied to the model'))
      .addOption(
        valueOption('--layer <L>', 'decoder layer whose attention is read (default: the middle layer)', F.layer),
      )
      .option(
        '--perturb',
        "add the settings' per-format noise to the images the model sees (the default, as the reference)",
      )
      .option('--no-perturb', 'answer on the clean images')
      .addOption(valueOption('--max-new-tokens <N>', 'tokens generated at most per sample', F.maxNewTokens))
      .addOption(valueOption('--temperature <T>', 'sampling temperature, 0 = greedy', F.temperature))
      .addOption(valueOption('--seed <S>', 'sampling seed', F.seed))
      .option('--pad', 'pad images to a square with the mean colour, as the reference (the default)')
      .option('--crop', "centre-crop images as the model's processor does, instead of padding")
      .addOption(
        valueOption(
          '--template <T>',
          "prompt format: the model's chat template, or the reference's llava_v0 conversation",
          F.template,
        ),
      )
      .addOption(valueOption('--ep <EP>', 'execution provider', F.ep))
      .addOption(
        valueOption('--weights <FORMAT>', 'weight format (int8/int4 are quantized once and cached)', F.weights),
      )
      .addOption(valueOption('--weight-block <N>', 'weights per int8/int4 scale: 32 or 128', F.weightBlock))
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const request = respondRequest(args.values);
    // The EP line before the job's progress; the lease keeps the detection for the job's own model.
    const ep = jsonOutput(args) ? null : await chooseEp(request.ep);
    if (ep) io.stderr.write(ep.line);
    try {
      return await runJobCommand(io, {
        dir: positional(args, 0),
        kind: 'respond',
        json: jsonOutput(args),
        submit: (service) => service.handlers['pipeline.respond'](request),
        async report(service, { job, resumedDone }) {
          const stats = await service.handlers['pipeline.stats']({ bins: 1 });
          return { answered: job.progress.done + resumedDone, generations: stats.generations };
        },
        print: (r, out) =>
          out.stdout.write(
            `answered ${r.answered} augmented sample(s); the project holds ${r.generations} generation(s)\n`,
          ),
      });
    } finally {
      await ep?.release();
    }
  },
};
