#!/usr/bin/env node
// Entry of the `mia-dpo` command. Runs the TypeScript sources directly through
// tsx so `npx mia-dpo` works right after `npm ci`, with no build step.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const entry = path.join(here, '..', 'electron', 'cli', 'main.ts');
// A child process (not an in-process register) so worker threads inherit the
// loader through execArgv and can run .ts files too.
const child = spawnSync(process.execPath, ['--import', tsxLoader, entry, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (child.error) {
  process.stderr.write(`mia-dpo: could not start: ${child.error.message}\n`);
  process.exit(1);
}
process.exit(child.status ?? (child.signal ? 1 : 0));
