// The shape of one CLI subcommand (one file each under ./commands, listed in
// ./commands/index.ts) and the errors that map to exit codes: 2 for usage,
// 1 for any other failure.
import type { ParseArgsConfig } from 'node:util';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Whether progress bars may be drawn (stderr is a terminal and --json is off). */
  tty: boolean;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface CliCommand {
  name: string;
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the exit code. Throw UsageError for bad arguments, AppError for failures. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function positional(args: ParsedArgs, at: number, what: string): string {
  const v = args.positionals[at];
  if (v === undefined) throw new UsageError(`missing ${what}`);
  return v;
}
