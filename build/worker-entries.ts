// Worker threads in the bundled main process. Sources start workers with
// `startWorker(new URL('./x.worker.ts', import.meta.url))`, and hand a worker the
// modules it imports by URL the same way (`new URL('./x.schema.ts', ...)`: the
// store worker's tables); in the Vite build each *.worker.ts and *.schema.ts
// becomes its own entry (x.worker.js beside main.js) and those URLs are rewritten
// to it. Without this, Vite would inline the raw TypeScript as an asset.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';

const WORKER_URL =
  /new URL\(\s*(['"])(?:\.{1,2}\/)+(?:[\w.-]+\/)*([\w-]+\.(?:worker|schema))\.ts\1\s*,\s*import\.meta\.url\s*\)/g;

/** Modules loaded by URL in a worker thread: the workers, and the schema modules the store worker imports. */
const ENTRY_SUFFIXES = ['.worker.ts', '.schema.ts'];

/** Every electron/** /*.worker.ts and *.schema.ts, by entry name ('store.worker'); names must be unique. */
export function workerEntries(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (ENTRY_SUFFIXES.some((suffix) => d.name.endsWith(suffix))) {
        const name = d.name.slice(0, -'.ts'.length);
        if (entries[name] !== undefined) throw new Error(`two workers named ${d.name}: ${entries[name]} and ${p}`);
        entries[name] = p;
      }
    }
  };
  walk(path.join(root, 'electron'));
  return entries;
}

/** Source with each `new URL('.../x.worker.ts', import.meta.url)` (or x.schema.ts) pointing at the built './x.worker.js'. */
export function rewriteWorkerUrls(code: string): string {
  // @vite-ignore: Vite's asset plugin would map './x.worker.js' back to the .ts source beside it and inline it.
  return code.replace(WORKER_URL, (match: string, _q: string, name: string, offset: number) => {
    // Leave comments alone (a nested /* */ inside a doc comment would end it).
    const line = code.slice(code.lastIndexOf('\n', offset) + 1, offset).trimStart();
    if (line.startsWith('//') || line.startsWith('*') || line.startsWith('/*')) return match;
    return `new URL(/* @vite-ignore */ './${name}.js', import.meta.url)`;
  });
}

export function workerUrlPlugin(): Plugin {
  return {
    name: 'mia-dpo:worker-urls',
    enforce: 'pre',
    // order 'pre': Vite's own new-URL asset handling transforms early too and must not see the .ts URL.
    transform: {
      order: 'pre',
      handler(code, id) {
        if (!id.endsWith('.ts') || !(code.includes('.worker.ts') || code.includes('.schema.ts'))) return null;
        const out = rewriteWorkerUrls(code);
        return out === code ? null : { code: out, map: null };
      },
    },
  };
}
