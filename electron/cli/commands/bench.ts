// `mia-dpo bench import DIR FILE [--name NAME] [--json]`: imports a benchmark
// (VLMEvalKit TSV, JSON or JSONL) into the project; bad rows are listed with
// their index and reason, the rest imported (issue 10).
import path from 'node:path';
import { Argument } from 'commander';
import { COMMANDS } from '../../../shared/api/commands';
import { createService } from '../../service';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { parseOptions } from '../options';

const Request = COMMANDS['eval.bench.import'].request;

export const benchCommand: CliCommand = {
  name: 'bench',
  summary: 'import a benchmark file (VLMEvalKit TSV, JSON, JSONL) into the project',
  define: (cmd) =>
    cmd
      .addArgument(new Argument('<ACTION>', 'what to do').choices(['import']))
      .argument('<DIR>', 'project folder')
      .argument('<FILE>', 'benchmark file (.tsv, .json, .jsonl)')
      .option('--name <NAME>', "the benchmark's name in the project (default: the file name)")
      .option('--json', 'print the result as JSON'),
  async run(args, io) {
    const file = path.resolve(positional(args, 2));
    const request = parseOptions(Request, { file, name: args.values['name'] });
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir: positional(args, 1) });
      const { benchmark, problems } = await service.handlers['eval.bench.import'](request);
      if (jsonOutput(args))
        writeJson(io, { ok: true, benchmark: benchmark.name, id: benchmark.id, items: benchmark.items, problems });
      else {
        io.stdout.write(
          `imported ${benchmark.items} item(s) as "${benchmark.name}" (${benchmark.categories.length} categories); ${problems.length} problem(s)\n`,
        );
        for (const p of problems) io.stdout.write(`  row ${p.row} (index ${p.index}): ${p.reason}: ${p.message}\n`);
      }
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
