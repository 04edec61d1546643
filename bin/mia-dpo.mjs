#!/usr/bin/env node
// Entry of the `mia-dpo` command. Runs the TypeScript sources directly through
// tsx so `npx mia-dpo` works right after `npm ci`, with no build step.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const tsxLoader = pathToFileURL(require.resolve('tsx')).href;
const entry = path.join(here, '..', 'electron', 'cli', 'main.ts');
// A child process (not an in-process register) so worker threads inherit the
// loader through execArgv and can run .ts files too.
// glibc raises its mmap threshold each time a large block is freed, after which freed activations stay in the
// heap, fragmented: a DPO step's peak RSS then wanders by 30% and more above what the graph holds. A fixed
// threshold returns every large tensor to the system when freed (decision 0660). Glibc reads it at start-up only.
const env = { MALLOC_MMAP_THRESHOLD_: '131072', ...process.env };
const child = spawn(process.execPath, ['--import', tsxLoader, entry, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});

// `kill PID` reaches only this wrapper: pass it on, so the CLI stops serving, releases the
// port and removes its project lock (issue 13 item 4). A terminal's Ctrl-C already reaches
// the child (same foreground process group), so SIGINT is forwarded only without a terminal:
// a second SIGINT would turn the CLI's "cancel at the next unit" into an abrupt exit.
const FORWARDED = process.stdin.isTTY ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of FORWARDED) process.on(signal, forward);
if (process.stdin.isTTY) process.on('SIGINT', () => undefined);

child.on('error', (error) => {
  process.stderr.write(`mia-dpo: could not start: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeAllListeners(s);
  // Die of the child's signal, so the caller sees the same status as if it had run the CLI itself.
  process.exitCode = 1;
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
