// The `mia-dpo` command line as a function: commander splits the arguments of
// the subcommand (./commands, one file each), the request schemas check the
// option values (./options.ts), and failures map to exit codes (0 ok, 1
// failure, 2 usage). `mia-dpo --help` lists every command with its options.
import { Command, CommanderError, type Argument, type Option } from 'commander';
import { isAppError, toAppError } from '../../shared/errors';
import { EXIT, UsageError, type CliCommand, type CliIo } from './command';
import { CLI_COMMANDS } from './commands';
import { choicesOf, isRepeatable } from './options';

function optionUsage(o: Option): string {
  const choices = choicesOf(o);
  const text = choices ? `${o.long} ${choices.join('|')}` : o.flags.replace(/[<>]/g, '');
  const once = o.mandatory ? text : `[${text}]`;
  return isRepeatable(o) ? `${once}...` : once;
}

function argumentUsage(a: Argument): string {
  const name = a.argChoices ? a.argChoices.join('|') : a.name();
  return a.required ? name : `[${name}]`;
}

/** `respond DIR --model DIR [--layer L] [--ep auto|cpu|webgpu|cuda] ...`, from what the command declares. */
function usageOf(cmd: Command): string {
  const args = cmd.registeredArguments.map(argumentUsage);
  return [...args, ...cmd.options.map(optionUsage)].join(' ');
}

/** `demo [DIR] ...`, or `demo world --out DIR ...` for a subcommand. */
const fullName = (c: Command): string => (c.parent?.parent ? `${c.parent.name()} ${c.name()}` : c.name());

function rootUsage(program: Command): string {
  const lines = program.commands.flatMap((c) =>
    [c, ...c.commands].map((s) => {
      const usage = `${fullName(s)} ${usageOf(s)}`;
      return `  ${usage.padEnd(72)} ${s.description()}`;
    }),
  );
  return (
    [
      'usage: mia-dpo <command> [options]',
      '',
      ...lines,
      '',
      'mia-dpo <command> --help describes a command and its options.',
    ].join('\n') + '\n'
  );
}

/** The whole command line, built afresh per run (commander keeps parsed values on its Command objects). */
function buildProgram(io: CliIo, run: (command: CliCommand, cmd: Command) => Promise<void>): Command {
  // A command's options are read only before a subcommand's name, so `demo world --json` is the subcommand's flag.
  const program = new Command('mia-dpo')
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
      outputError: () => undefined,
    });
  const add = (parent: Command, command: CliCommand): void => {
    const cmd = parent.command(command.name).description(command.summary);
    command.define(cmd);
    cmd.usage(usageOf(cmd)).action(() => run(command, cmd));
    for (const sub of command.subcommands ?? []) add(cmd, sub);
  };
  for (const command of CLI_COMMANDS) add(program, command);
  return program;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  let code: number = EXIT.ok;
  const program = buildProgram(io, async (command, cmd) => {
    code = await command.run(
      { values: cmd.opts(), positionals: cmd.processedArgs as (string | undefined)[] },
      { ...io, tty: io.tty && !json },
    );
  });
  const [name] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && argv.length === 1)) {
    (name === undefined ? io.stderr : io.stdout).write(rootUsage(program));
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError && e.exitCode === 0) return EXIT.ok; // --help was shown
    if (e instanceof CommanderError || e instanceof UsageError) {
      const message = e.message.replace(/^error: /, '');
      const top = program.commands.find((c) => c.name() === name);
      const cmd = top?.commands.find((c) => c.name() === argv[1]) ?? top;
      io.stderr.write(
        `mia-dpo: ${message}\n${cmd ? `usage: mia-dpo ${fullName(cmd)} ${usageOf(cmd)}\n` : rootUsage(program)}`,
      );
      if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: { kind: 'bad-input', message } })}\n`);
      return EXIT.usage;
    }
    const error = toAppError(e);
    io.stderr.write(`mia-dpo: ${error.message}\n`);
    if (!isAppError(e)) io.stderr.write(`${(e as Error).stack ?? ''}\n`);
    if (json) io.stdout.write(`${JSON.stringify({ ok: false, error: error.toJSON() })}\n`);
    return EXIT.failure;
  }
}
