// `mia-dpo augment DIR [--formats sequence,grid,pip] [--count N] [--seed S]`:
// runs the augmentation job (issue #4) to the end and reports the samples made.
// Option values are checked by the `pipeline.augment` request schema (AugmentOptions).
import { AugmentOptions } from '../../../shared/pipeline/augment';
import { FORMATS } from '../../../shared/pipeline/formats';
import { jsonOutput, positional, type CliCommand } from '../command';
import { runJobCommand } from '../job-command';
import { parseOptions, valueOption } from '../options';

export function augmentRequest(values: Record<string, unknown>): AugmentOptions {
  const { formats, count, seed } = values;
  const list =
    typeof formats === 'string'
      ? formats
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean)
      : undefined;
  return parseOptions(AugmentOptions, { formats: list, count, seed });
}

export const augmentCommand: CliCommand = {
  name: 'augment',
  summary: 'build multi-image samples (sequence, grid collage, pic-in-pic) from the imported samples',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .addOption(
        valueOption(
          '--formats <LIST>',
          `comma-separated formats to make, of ${FORMATS.join(', ')} (default: the settings' mix)`,
        ),
      )
      .addOption(valueOption('--count <N>', 'augmented samples to make (default: all)', AugmentOptions.shape.count))
      .addOption(valueOption('--seed <S>', 'seed of every random choice', AugmentOptions.shape.seed))
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const request = augmentRequest(args.values);
    return runJobCommand(io, {
      dir: positional(args, 0),
      kind: 'augment',
      json: jsonOutput(args),
      submit: (service) => service.handlers['pipeline.augment'](request),
      async report(service, { job }) {
        const stats = await service.handlers['pipeline.stats']({ bins: 20 });
        return { made: job.progress.done, augmented: stats.augmented };
      },
      print(r, out) {
        out.stdout.write(`made ${r.made} augmented samples (seed ${request.seed}); project totals:\n`);
        for (const a of r.augmented)
          out.stdout.write(`  ${a.format.padEnd(8)} ${String(a.imageCount).padStart(2)} images: ${a.count}\n`);
      },
    });
  },
};
