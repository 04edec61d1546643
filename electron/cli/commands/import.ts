// `mia-dpo import DIR --llava FILE --images ROOT | --folder ROOT`: runs an
// import job to the end and reports counts and every problem entry.
import path from 'node:path';
import { IMPORT_COUNTS_MEANING, importCountsLine, type ImportSource, type Problem } from '../../../shared/api';
import { COMMANDS } from '../../../shared/api/commands';
import type { Service } from '../../service';
import { UsageError, jsonOutput, positional, type CliCommand, type ParsedArgs } from '../command';
import { runJobCommand } from '../job-command';
import { parseOptions } from '../options';

/** Problems printed in text mode; --json carries every one. */
const SHOWN_PROBLEMS = 50;

function sourceOf(args: ParsedArgs): ImportSource {
  const { llava, images, folder } = args.values;
  const given = (v: unknown): v is string => typeof v === 'string';
  if (given(folder) && llava === undefined && images === undefined)
    return { kind: 'folder', root: path.resolve(folder) };
  if (given(llava) && given(images) && folder === undefined)
    return { kind: 'llava', file: path.resolve(llava), imagesRoot: path.resolve(images) };
  throw new UsageError('give either --llava FILE --images ROOT, or --folder ROOT');
}

async function allProblems(service: Service, jobId: number): Promise<Problem[]> {
  const out: Problem[] = [];
  for (;;) {
    const page = await service.handlers['problems.list']({ jobId, offset: out.length, limit: 1000 });
    out.push(...page.items);
    if (page.items.length === 0 || out.length >= page.total) return out;
  }
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'import a LLaVA JSON/JSONL dataset or a folder of images into a project',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .option('--llava <FILE>', 'LLaVA JSON or JSONL dataset file (with --images)')
      .option('--images <ROOT>', "folder the dataset's image paths are relative to")
      .option('--folder <ROOT>', 'import a folder of images instead (one sample per image)')
      .option('--abort-on-problem', 'fail the import at the first bad entry instead of recording it')
      .option('--again', 'import the source again although the same content was imported from this path before')
      .option('--json', 'print the report as JSON'),
  async run(args, io) {
    const input = {
      source: sourceOf(args),
      abortOnProblem: args.values['abortOnProblem'],
      again: args.values['again'],
    };
    const request = parseOptions(COMMANDS['dataset.import'].request, input, { source: '--llava/--images/--folder' });
    return runJobCommand(io, {
      dir: positional(args, 0),
      kind: 'import',
      json: jsonOutput(args),
      submit: (service) => service.handlers['dataset.import'](request),
      joins: true,
      async report(service, { job }) {
        const result = job.kind === 'import' ? job.result : null;
        const problems = job.state === 'done' ? await allProblems(service, job.id) : [];
        return {
          ...result,
          problems: problems.map((p) => ({
            index: p.index,
            line: p.line,
            id: p.entryId,
            reason: p.reason,
            message: p.message,
          })),
        };
      },
      print(r, out) {
        out.stdout.write(`${importCountsLine(r)} (${r.images ?? 0} images)\n${IMPORT_COUNTS_MEANING}\n`);
        for (const p of r.problems.slice(0, SHOWN_PROBLEMS))
          out.stdout.write(
            `  entry ${p.index}${p.line ? ` (line ${p.line})` : ''}${p.id ? ` id ${p.id}` : ''}: ${p.reason}: ${p.message}\n`,
          );
        const hidden = r.problems.length - SHOWN_PROBLEMS;
        if (hidden > 0) out.stdout.write(`  ... and ${hidden} more (--json lists them all)\n`);
      },
    });
  },
};
