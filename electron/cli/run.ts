// The `mia-dpo` command line as a function: picks the subcommand from
// ./commands, parses its options with node:util parseArgs and maps failures
// to exit codes (0 ok, 1 failure, 2 usage).
import { parseArgs } from 'node:util';
import { isAppError, toAppError } from '../../shared/errors';
import { EXIT, UsageError, type CliIo, type ParsedArgs } from './command';
import { CLI_COMMANDS } from './commands';

function usage(): string {
  return ['usage: mia-dpo <command> [options]', '', ...CLI_COMMANDS.map((c) => `  ${c.usage.padEnd(72)} ${c.summary}`)].join('\n') + '\n';
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = CLI_COMMANDS.find((c) => c.name === name);
  const json = rest.includes('--json');
  try {
    if (command === undefined) throw new UsageError(`unknown command "${name}"`);
    const { values, positionals } = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    return await command.run({ values: values as ParsedArgs['values'], positionals }, { ...io, tty: io.tty && !json });
  } catch (e) {
    const isUsage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (isUsage) {
      io.stderr.write(`mia-dpo: ${(e as Error).message}\n${command ? `usage: mia-dpo ${command.usage}\n` : usage()}`);
      if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: { kind: 'bad-input', message: (e as Error).message } })}\n`);
      return EXIT.usage;
    }
    const error = toAppError(e);
    io.stderr.write(`mia-dpo: ${error.message}\n`);
    if (!isAppError(e)) io.stderr.write(`${(e as Error).stack ?? ''}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() })}\n`);
    return EXIT.failure;
  }
}

