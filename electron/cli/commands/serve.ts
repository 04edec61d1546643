// `mia-dpo serve DIR [--port N]`: the local web mode on 127.0.0.1 until Ctrl-C.
import { AppError } from '../../../shared/errors';
import { startServer } from '../../server';
import { createService } from '../../service';
import { EXIT, UsageError, positional, type CliCommand, type CliIo } from '../command';

export function parsePort(value: string | boolean | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${String(value)}"`);
  return port;
}

/** Serves until SIGINT/SIGTERM. */
export async function serveUntilStopped(projectDir: string, port: number, io: CliIo, onUrl?: (url: string) => void): Promise<void> {
  const service = await createService({ projectDir });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ service, port });
  } catch (e) {
    await service.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new AppError('conflict', `port ${port} on 127.0.0.1 is already in use; choose another with --port`, { cause: e });
    throw e;
  }
  io.stdout.write(`serving ${projectDir} at ${server.url}\n(press Ctrl-C to stop)\n`);
  onUrl?.(server.url);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await service.close();
}

export const serveCommand: CliCommand = {
  name: 'serve',
  usage: 'serve DIR [--port N]',
  summary: 'serve the UI for a project on 127.0.0.1 (local web mode)',
  options: { port: { type: 'string' } },
  async run(args, io) {
    const dir = positional(args, 0, 'project folder DIR');
    await serveUntilStopped(dir, parsePort(args.values.port), io);
    return EXIT.ok;
  },
};
