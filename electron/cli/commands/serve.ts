// `mia-dpo serve DIR [--port N]`: the local web mode on 127.0.0.1 until Ctrl-C.
import { z } from 'zod';
import { AppError } from '../../../shared/errors';
import path from 'node:path';
import { startServer } from '../../server';
import { createService } from '../../service';
import { noteServedUrl } from '../../store/lock';
import { EXIT, positional, type CliCommand, type CliIo } from '../command';
import { parseOptions, valueOption } from '../options';

/** The local server's port; 0 lets the system choose a free one. */
export const Port = z.int().min(0).max(65535).default(0);
const Options = z.strictObject({ port: Port });

export function parsePort(value: unknown): number {
  return parseOptions(Options, { port: value }).port;
}

/** Serves until SIGINT/SIGTERM. */
export async function serveUntilStopped(
  projectDir: string,
  port: number,
  io: CliIo,
  onUrl?: (url: string) => void,
): Promise<void> {
  const service = await createService({ projectDir });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ service, port });
  } catch (e) {
    await service.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new AppError('conflict', `port ${port} on 127.0.0.1 is already in use; choose another with --port`, {
        cause: e,
      });
    throw e;
  }
  // Listen before the URL is printed: whoever reads it may signal at once, and an
  // unhandled SIGTERM would kill the process with the lock still in place.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // Other processes' lock messages then point at this UI (without its token).
  noteServedUrl(path.resolve(projectDir), server.url);
  io.stdout.write(`serving ${projectDir} at ${server.url}\n(press Ctrl-C to stop)\n`);
  onUrl?.(server.url);
  await stopped;
  await server.close();
  await service.close();
}

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'serve the UI for a project on 127.0.0.1 (local web mode)',
  define: (cmd) =>
    cmd
      .argument('<DIR>', 'project folder')
      .addOption(valueOption('--port <N>', 'port on 127.0.0.1, 0 = any free one', Port)),
  async run(args, io) {
    await serveUntilStopped(positional(args, 0), parsePort(args.values['port']), io);
    return EXIT.ok;
  },
};
