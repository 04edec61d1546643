// Starts a worker thread from a TypeScript module. From source (tsx) the
// worker registers the tsx loader itself before importing the module; in a
// bundled build the module has already been compiled to .js and needs nothing.
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * On Node 20 an inherited `--import tsx` does not apply its hooks inside
 * worker threads (ERR_UNKNOWN_FILE_EXTENSION), so a .ts worker starts from a
 * tiny eval'd module that calls tsx's `register()` and then imports the file.
 */
function tsBootstrap(moduleUrl: URL): string {
  // require.resolve yields the CommonJS build; the worker imports the ESM one beside it.
  const api = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
}

/** `moduleUrl` is usually `new URL('./x.worker.ts', import.meta.url)`. */
export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  return new Worker(tsBootstrap(moduleUrl), { ...options, eval: true });
}
