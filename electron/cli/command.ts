// The shape of one CLI subcommand (one file each under ./commands, listed in
// ./commands/index.ts) and the errors that map to exit codes: 2 for usage,
// 1 for any other failure. Commands declare their arguments and options on a
// commander Command; option values are validated by ./options.ts.
import type { Command } from 'commander';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Whether progress bars may be drawn (stderr is a terminal and --json is off). */
  tty: boolean;
}

export interface ParsedArgs {
  /** Option values as commander parsed them, keyed by the camelCase of the flag (`--max-new-tokens` -> `maxNewTokens`). */
  values: Record<string, unknown>;
  /** The declared positional arguments in order (undefined when an optional one is left out). */
  positionals: (string | undefined)[];
}

export interface CliCommand {
  name: string;
  summary: string;
  /** Declares the positional arguments and options (with their help) on `cmd`. */
  define(cmd: Command): void;
  /** Returns the exit code. Throw UsageError for bad arguments, AppError for failures. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
  /** Commands under this one (`demo world`): a first argument naming one runs it instead of `run`. */
  subcommands?: readonly CliCommand[];
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A declared positional argument commander has already checked is present. */
export function positional(args: ParsedArgs, at: number): string {
  const v = args.positionals[at];
  if (v === undefined) throw new UsageError(`missing argument ${at + 1}`);
  return v;
}

/** `--json` given. */
export function jsonOutput(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}
