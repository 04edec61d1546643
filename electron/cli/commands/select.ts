// `mia-dpo select DIR [--thresholds FILE]`: re-decides every stored generation
// (attention thresholds, ground-truth limit, post-selection) without
// re-generating; FILE is a partial settings JSON kept in the project.
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';
import { createService } from '../../service';
import { EXIT, positional, writeJson, type CliCommand } from '../command';
import { waitForJob } from '../wait-job';

async function readPatch(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('not-found', `thresholds file ${file} cannot be read`, { subject: file, cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AppError('bad-input', `thresholds file ${file} is not valid JSON: ${(e as Error).message}`, { subject: file, cause: e });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError('bad-input', `thresholds file ${file} must hold a JSON object of settings (e.g. {"selection": {"thresholds": ...}})`, { subject: file });
  return value as Record<string, unknown>;
}

export const selectCommand: CliCommand = {
  name: 'select',
  usage: 'select DIR [--thresholds FILE] [--json]',
  summary: 're-select preference pairs from stored generations with the current (or given) thresholds',
  options: { thresholds: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const file = args.values.thresholds;
    const patch = typeof file === 'string' ? await readPatch(file) : undefined;
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      const { jobId } = await service.handlers['pipeline.select'](patch === undefined ? {} : { patch });
      const job = await waitForJob(service, jobId, io, 'select');
      const stats = await service.handlers['pipeline.stats']({ bins: 20 });
      const report = { ok: job.state === 'done', jobId, state: job.state, generations: stats.generations, kept: stats.kept, byFormat: stats.byFormat, failedBy: stats.failedBy, modeDisagreement: stats.modeDisagreement, error: job.error };
      if (args.values.json) writeJson(io, report);
      else if (job.state === 'done') {
        io.stdout.write(`kept ${stats.kept} of ${stats.generations} generations\n`);
        for (const [f, y] of Object.entries(stats.byFormat)) io.stdout.write(`  ${f.padEnd(8)} ${y.kept}/${y.total} (${(y.yield * 100).toFixed(1)}%)\n`);
        for (const [c, n] of Object.entries(stats.failedBy)) if (n > 0) io.stdout.write(`  dropped by ${c}: ${n}\n`);
        const d = stats.modeDisagreement;
        if (d.compared > 0) io.stdout.write(`  reference vs exact-region attention decisions differ on ${d.disagree} of ${d.compared} (${(d.rate * 100).toFixed(1)}%)\n`);
      } else io.stderr.write(`mia-dpo: select ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
      return job.state === 'done' ? EXIT.ok : EXIT.failure;
    } finally {
      await service.close();
    }
  },
};
