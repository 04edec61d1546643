// `mia-dpo augment DIR [--formats sequence,grid,pip] [--count N] [--seed S]`:
// runs the augmentation job (issue #4) to the end and reports the samples made.
import { FORMATS, type Format } from '../../../shared/pipeline/formats';
import { createService } from '../../service';
import { EXIT, UsageError, positional, writeJson, type CliCommand } from '../command';
import { waitForJob } from '../wait-job';

function intOption(value: string | boolean | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(value)}`);
  return n;
}

function formatsOption(value: string | boolean | undefined): Format[] | undefined {
  if (value === undefined) return undefined;
  const list = String(value).split(',').map((f) => f.trim()).filter(Boolean);
  const bad = list.filter((f) => !(FORMATS as readonly string[]).includes(f));
  if (list.length === 0 || bad.length > 0) throw new UsageError(`--formats takes a comma-separated list of ${FORMATS.join(', ')}${bad.length ? `; unknown: ${bad.join(', ')}` : ''}`);
  return list as Format[];
}

export const augmentCommand: CliCommand = {
  name: 'augment',
  usage: 'augment DIR [--formats sequence,grid,pip] [--count N] [--seed S] [--json]',
  summary: 'build multi-image samples (sequence, grid collage, pic-in-pic) from the imported samples',
  options: { formats: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const formats = formatsOption(args.values.formats);
    const count = intOption(args.values.count, 'count', 1);
    const seed = intOption(args.values.seed, 'seed', 0) ?? 0;
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      const { jobId } = await service.handlers['pipeline.augment']({ seed, ...(count === undefined ? {} : { count }), ...(formats === undefined ? {} : { formats }) });
      const job = await waitForJob(service, jobId, io, 'augment');
      const stats = await service.handlers['pipeline.stats']({ bins: 20 });
      const report = { ok: job.state === 'done', jobId, state: job.state, made: job.progress.done, augmented: stats.augmented, error: job.error };
      if (args.values.json) writeJson(io, report);
      else if (job.state === 'done') {
        io.stdout.write(`made ${report.made} augmented samples (seed ${seed}); project totals:\n`);
        for (const a of stats.augmented) io.stdout.write(`  ${a.format.padEnd(8)} ${String(a.imageCount).padStart(2)} images: ${a.count}\n`);
      } else io.stderr.write(`mia-dpo: augment ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
      return job.state === 'done' ? EXIT.ok : EXIT.failure;
    } finally {
      await service.close();
    }
  },
};
