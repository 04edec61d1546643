// `mia-dpo import DIR --llava FILE --images ROOT | --folder ROOT`: runs an
// import job to the end and reports counts and every problem entry.
import path from 'node:path';
import type { ImportSource, Problem } from '../../../shared/api';
import { createService, type Service } from '../../service';
import { EXIT, UsageError, positional, writeJson, type CliCommand, type ParsedArgs } from '../command';
import { waitForJob } from '../wait-job';

/** Problems printed in text mode; --json carries every one. */
const SHOWN_PROBLEMS = 50;

function sourceOf(args: ParsedArgs): ImportSource {
  const { llava, images, folder } = args.values as Record<string, string | undefined>;
  if (folder !== undefined && llava === undefined && images === undefined) return { kind: 'folder', root: path.resolve(folder) };
  if (llava !== undefined && images !== undefined && folder === undefined) return { kind: 'llava', file: path.resolve(llava), imagesRoot: path.resolve(images) };
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
  usage: 'import DIR (--llava FILE --images ROOT | --folder ROOT) [--abort-on-problem] [--json]',
  summary: 'import a LLaVA JSON/JSONL dataset or a folder of images into a project',
  options: {
    llava: { type: 'string' },
    images: { type: 'string' },
    folder: { type: 'string' },
    'abort-on-problem': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const source = sourceOf(args);
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      const { jobId } = await service.handlers['dataset.import']({ source, abortOnProblem: args.values['abort-on-problem'] === true });
      const job = await waitForJob(service, jobId, io, 'import');
      const result = job.result ?? {};
      const problems = job.state === 'done' ? await allProblems(service, jobId) : [];
      const report = {
        ok: job.state === 'done',
        jobId,
        state: job.state,
        samples: (result.samples as number | undefined) ?? 0,
        problemEntries: (result.problemEntries as number | undefined) ?? 0,
        images: (result.images as number | undefined) ?? 0,
        problems: problems.map((p) => ({ index: p.index, line: p.line, id: p.entryId, reason: p.reason, message: p.message })),
        error: job.error,
      };
      if (args.values.json) writeJson(io, report);
      else {
        if (job.state === 'done') io.stdout.write(`imported ${report.samples} samples (${report.images} images), ${report.problemEntries} problem entries\n`);
        for (const p of report.problems.slice(0, SHOWN_PROBLEMS)) io.stdout.write(`  entry ${p.index}${p.line ? ` (line ${p.line})` : ''}${p.id ? ` id ${p.id}` : ''}: ${p.reason}: ${p.message}\n`);
        const hidden = report.problems.length - SHOWN_PROBLEMS;
        if (hidden > 0) io.stdout.write(`  ... and ${hidden} more (--json lists them all)\n`);
        if (job.state !== 'done') io.stderr.write(`mia-dpo: import ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
      }
      return job.state === 'done' ? EXIT.ok : EXIT.failure;
    } finally {
      await service.close();
    }
  },
};
