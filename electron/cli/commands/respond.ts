// `mia-dpo respond DIR --model MODEL ...`: runs the response-generation job
// (issue #4, step 3) over every augmented sample the model has not answered,
// to the end, and reports how many it answered. Ctrl-C cancels between samples.
import { EP_CHOICES, type EpChoice } from '../../engine/runtime/protocol';
import { createService } from '../../service';
import { EXIT, UsageError, positional, writeJson, type CliCommand, type ParsedArgs } from '../command';
import { waitForJob } from '../wait-job';

function intOption(args: ParsedArgs, name: string, min: number): number | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${String(v)}`);
  return n;
}

function epOption(args: ParsedArgs): EpChoice {
  const ep = args.values['ep'] ?? 'auto';
  if (typeof ep !== 'string' || !(EP_CHOICES as readonly string[]).includes(ep)) throw new UsageError(`--ep must be one of ${EP_CHOICES.join(', ')}, got "${String(ep)}"`);
  return ep as EpChoice;
}

export const respondCommand: CliCommand = {
  name: 'respond',
  usage: 'respond DIR --model MODEL [--layer L] [--no-perturb] [--max-new-tokens N] [--temperature T] [--seed S] [--pad] [--ep auto|cpu|webgpu|cuda] [--json]',
  summary: 'answer the augmented samples with a model, recording attention',
  options: {
    model: { type: 'string' },
    layer: { type: 'string' },
    perturb: { type: 'boolean' },
    'no-perturb': { type: 'boolean' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    seed: { type: 'string' },
    pad: { type: 'boolean' },
    ep: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const model = args.values['model'];
    if (typeof model !== 'string' || model === '') throw new UsageError('--model is required');
    const rawTemperature = args.values['temperature'];
    const temperature = typeof rawTemperature === 'string' && rawTemperature.trim() !== '' ? Number(rawTemperature) : rawTemperature === undefined ? undefined : NaN;
    if (temperature !== undefined && !(temperature >= 0 && Number.isFinite(temperature))) throw new UsageError(`--temperature must be a number >= 0, got ${String(rawTemperature)}`);
    const request = {
      model,
      ep: epOption(args),
      // Perturbation is on by default, as the reference (decision 0105); --perturb is still accepted.
      perturb: args.values['no-perturb'] !== true,
      aspect: args.values['pad'] === true ? ('pad' as const) : ('crop' as const),
      seed: intOption(args, 'seed', 0) ?? 0,
      temperature: temperature ?? 0,
      maxNewTokens: intOption(args, 'max-new-tokens', 1) ?? 512,
      ...optional('layer', intOption(args, 'layer', 0)),
    };
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      // A respond job a crash interrupted resumes when the project opens: finish it first, then answer what is left.
      let resumed = 0;
      for (const j of (await service.handlers['jobs.list']({})).jobs.filter((j) => j.kind === 'respond' && (j.state === 'running' || j.state === 'queued'))) {
        const before = j.progress.done;
        resumed += (await waitForJob(service, j.id, io, `respond (resumed job ${j.id})`)).progress.done - before;
      }
      const { jobId } = await service.handlers['pipeline.respond'](request);
      const job = await waitForJob(service, jobId, io, 'respond');
      const stats = await service.handlers['pipeline.stats']({ bins: 1 });
      const report = { ok: job.state === 'done', jobId, state: job.state, answered: job.progress.done + resumed, generations: stats.generations, error: job.error };
      if (args.values['json']) writeJson(io, report);
      else if (job.state === 'done') io.stdout.write(`answered ${report.answered} augmented sample(s); the project holds ${report.generations} generation(s)\n`);
      else io.stderr.write(`mia-dpo: respond ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
      return job.state === 'done' ? EXIT.ok : EXIT.failure;
    } finally {
      await service.close();
    }
  },
};

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
