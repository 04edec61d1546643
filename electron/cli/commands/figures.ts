// `mia-dpo figures DIR [--figure 5|6] [--item ID] [--run A --run B]`: the
// paper's Figure 5 (attention-ratio histograms with the project's thresholds)
// and Figure 6 (one multi-image item's attention before and after the adapter)
// written as PNG, SVG and data JSON into DIR/figures (decision 0820).
import { COMMANDS } from '../../../shared/api/commands';
import { FIGURES, type FigureName } from '../../../shared/pipeline/figures';
import { jsonOutput, positional, UsageError, type CliCommand } from '../command';
import { runJobCommand } from '../job-command';
import { parseOptions, repeatableOption, valueOption } from '../options';

const Request = COMMANDS['figures.render'].request;
const BY_NUMBER: Record<string, FigureName> = { '5': 'attention-ratios', '6': 'attention-before-after' };

function figuresOf(given: unknown): FigureName[] | undefined {
  if (given === undefined) return undefined;
  return (given as string[]).map((g) => {
    const name = BY_NUMBER[g] ?? (FIGURES as readonly string[]).find((f) => f === g);
    if (name === undefined) throw new UsageError(`--figure: 5, 6 or one of ${FIGURES.join(', ')} (got "${g}")`);
    return name as FigureName;
  });
}

export const figuresCommand: CliCommand = {
  name: 'figures',
  summary: "write the paper's Figure 5 (attention ratios with thresholds) and Figure 6 (attention before/after)",
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .addOption(repeatableOption('--figure <N>', 'only this figure: 5 or 6 (default both)'))
      .addOption(
        valueOption('--item <ID>', 'Figure 6: the benchmark item (default: a multi-image item the adapter fixed)'),
      )
      .addOption(
        repeatableOption('--run <ID>', 'Figure 6: the before run, then the after run (default: base and adapter runs)'),
      )
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const runs = args.values['run'] as string[] | undefined;
    if (runs !== undefined && runs.length !== 2)
      throw new UsageError(`--run: give two eval runs, before then after (got ${runs.length})`);
    const request = parseOptions(Request, {
      figures: figuresOf(args.values['figure']),
      item: args.values['item'],
      runs: runs?.map(Number),
    });
    return runJobCommand(io, {
      dir: positional(args, 0),
      kind: 'figures',
      json: jsonOutput(args),
      submit: (service) => service.handlers['figures.render'](request),
      async report(_service, { job }) {
        const r = job.kind === 'figures' ? job.result : null;
        return { dir: r?.dir ?? null, files: r?.files ?? [], item: r?.item ?? null, runs: r?.runs ?? null };
      },
      print(r, out) {
        out.stdout.write(`figures written to ${r.dir}\n`);
        for (const f of r.files.filter((f) => f.endsWith('.png'))) out.stdout.write(`  ${f}\n`);
        if (r.runs !== null) out.stdout.write(`  Figure 6: item ${r.item}, eval runs ${r.runs[0]} -> ${r.runs[1]}\n`);
      },
    });
  },
};
