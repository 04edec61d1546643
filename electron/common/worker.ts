// Starts a worker thread from a TypeScript module. From source (tsx) the
// worker needs the tsx loader in its execArgv; in a bundled build the module
// has already been compiled to .js and needs nothing.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

function tsxLoaderArgs(moduleUrl: URL): string[] {
  if (!moduleUrl.pathname.endsWith('.ts')) return [];
  const already = process.execArgv.some((a) => a.includes('tsx'));
  return already ? [] : ['--import', pathToFileURL(require.resolve('tsx')).href];
}

/** `moduleUrl` is usually `new URL('./x.worker.ts', import.meta.url)`. */
export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  const execArgv = [...(options.execArgv ?? process.execArgv), ...tsxLoaderArgs(moduleUrl)];
  return new Worker(moduleUrl, { ...options, execArgv });
}
