// `mia-dpo project create DIR [--name NAME]`: lays out a new project folder.
import path from 'node:path';
import { Argument } from 'commander';
import { COMMANDS } from '../../../shared/api/commands';
import { createService } from '../../service';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';
import { parseOptions } from '../options';

export const projectCommand: CliCommand = {
  name: 'project',
  summary: 'create a project folder (project.sqlite, cache/, runs/, exports/)',
  define: (cmd) =>
    cmd
      .addArgument(new Argument('<ACTION>', 'what to do').choices(['create']))
      .argument('<DIR>', 'project folder')
      .option('--name <NAME>', 'project name (default: the folder name)')
      .option('--json', 'print the project as JSON'),
  async run(args, io) {
    const request = parseOptions(COMMANDS['project.create'].request, {
      dir: path.resolve(positional(args, 1)),
      name: args.values['name'],
    });
    const service = await createService();
    try {
      const info = await service.handlers['project.create'](request);
      if (jsonOutput(args)) writeJson(io, { ok: true, project: info });
      else io.stdout.write(`created project "${info.name}" in ${info.dir}\n`);
      return EXIT.ok;
    } finally {
      await service.close();
    }
  },
};
