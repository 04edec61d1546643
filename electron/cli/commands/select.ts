// `mia-dpo select DIR [--thresholds FILE]`: re-decides every stored generation
// (attention thresholds, ground-truth limit, post-selection) without
// re-generating; FILE is a partial settings JSON kept in the project.
import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';
import { jsonOutput, positional, type CliCommand } from '../command';
import { runJobCommand } from '../job-command';

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
    throw new AppError('bad-input', `thresholds file ${file} is not valid JSON: ${(e as Error).message}`, {
      subject: file,
      cause: e,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AppError(
      'bad-input',
      `thresholds file ${file} must hold a JSON object of settings (e.g. {"selection": {"thresholds": ...}})`,
      { subject: file },
    );
  return value as Record<string, unknown>;
}

export const selectCommand: CliCommand = {
  name: 'select',
  summary: 're-select preference pairs from stored generations with the current (or given) thresholds',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .option(
        '--thresholds <FILE>',
        'JSON file of settings to apply first (e.g. {"selection": {"thresholds": ...}}), kept in the project',
      )
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const file = args.values['thresholds'];
    const patch = typeof file === 'string' ? await readPatch(file) : undefined;
    return runJobCommand(io, {
      dir: positional(args, 0),
      kind: 'select',
      json: jsonOutput(args),
      submit: (service) => service.handlers['pipeline.select'](patch === undefined ? {} : { patch }),
      async report(service) {
        const stats = await service.handlers['pipeline.stats']({ bins: 20 });
        return {
          generations: stats.generations,
          kept: stats.kept,
          byFormat: stats.byFormat,
          failedBy: stats.failedBy,
          modeDisagreement: stats.modeDisagreement,
        };
      },
      print(stats, out) {
        out.stdout.write(`kept ${stats.kept} of ${stats.generations} generations\n`);
        for (const [f, y] of Object.entries(stats.byFormat))
          out.stdout.write(`  ${f.padEnd(8)} ${y.kept}/${y.total} (${(y.yield * 100).toFixed(1)}%)\n`);
        for (const [c, n] of Object.entries(stats.failedBy)) if (n > 0) out.stdout.write(`  dropped by ${c}: ${n}\n`);
        const d = stats.modeDisagreement;
        if (d.compared > 0)
          out.stdout.write(
            `  reference vs exact-region attention decisions differ on ${d.disagree} of ${d.compared} (${(d.rate * 100).toFixed(1)}%)\n`,
          );
      },
    });
  },
};
