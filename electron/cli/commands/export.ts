// `mia-dpo export DIR --format mia|trl|llamafactory --out PATH`: writes the
// kept pairs (not rejected in review) with their images into the folder PATH.
import path from 'node:path';
import { EXPORT_FORMATS } from '../../../shared/pipeline/commands';
import { createService } from '../../service';
import { EXIT, UsageError, positional, writeJson, type CliCommand } from '../command';

export const exportCommand: CliCommand = {
  name: 'export',
  usage: 'export DIR --format mia|trl|llamafactory --out PATH [--json]',
  summary: 'export kept pairs as the reference JSON, TRL JSONL or LLaMA-Factory ShareGPT (self-contained folder)',
  options: { format: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    const format = args.values.format;
    const out = args.values.out;
    if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
    if (typeof out !== 'string' || out.length === 0) throw new UsageError('--out PATH is required (a folder)');
    const service = await createService();
    try {
      await service.handlers['project.open']({ dir });
      const result = await service.handlers['pipeline.export']({ format: format as (typeof EXPORT_FORMATS)[number], out: path.resolve(out) });
      if (args.values.json) writeJson(io, { ok: true, ...result });
      else io.stdout.write(`exported ${result.pairs} pairs (${format}) to ${path.resolve(out)}\n`);
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
