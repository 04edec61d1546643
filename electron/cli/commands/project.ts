// `mia-dpo project create DIR [--name NAME]`: lays out a new project folder.
import path from 'node:path';
import { createService } from '../../service';
import { EXIT, UsageError, positional, writeJson, type CliCommand } from '../command';

export const projectCommand: CliCommand = {
  name: 'project',
  usage: 'project create DIR [--name NAME] [--json]',
  summary: 'create a project folder (project.sqlite, cache/, runs/, exports/)',
  options: { name: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const action = positional(args, 0, 'action (create)');
    if (action !== 'create') throw new UsageError(`unknown action "project ${action}" (expected: project create DIR)`);
    const dir = path.resolve(positional(args, 1, 'project folder DIR'));
    const service = await createService();
    try {
      const name = args.values.name as string | undefined;
      const info = await service.handlers['project.create']({ dir, ...(name ? { name } : {}) });
      if (args.values.json) writeJson(io, { ok: true, project: info });
      else io.stdout.write(`created project "${info.name}" in ${info.dir}\n`);
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
