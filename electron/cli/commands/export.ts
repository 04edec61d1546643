// `mia-dpo export DIR --format mia|trl|llamafactory --out PATH`: writes the
// kept pairs (not rejected in review) with their images into the folder PATH.
// Option values are checked by the `pipeline.export` request schema. Writes
// files only, not the project: works beside `serve` or the app (../open-to-read).
import path from 'node:path';
import { COMMANDS } from '../../../shared/api/commands';
import { createService } from '../../service';
import { openServiceToRead } from '../open-to-read';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { parseOptions, valueOption } from '../options';

const Request = COMMANDS['pipeline.export'].request;

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'export kept pairs as the reference JSON, TRL JSONL or LLaMA-Factory ShareGPT (self-contained folder)',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .addOption(valueOption('--format <FORMAT>', 'export format', Request.shape.format).makeOptionMandatory())
      .requiredOption('--out <PATH>', 'folder to write (created)')
      .option('--json', 'print the result as JSON'),
  async run(args, io) {
    const { format, out } = args.values;
    const request = parseOptions(Request, {
      format,
      out: typeof out === 'string' && out !== '' ? path.resolve(out) : out,
    });
    const service = await createService();
    try {
      await openServiceToRead(service, positional(args, 0));
      const result = await service.handlers['pipeline.export'](request);
      if (jsonOutput(args)) writeJson(io, { ok: true, ...result });
      else io.stdout.write(`exported ${result.pairs} pairs (${request.format}) to ${request.out}\n`);
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
