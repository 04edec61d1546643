#!/usr/bin/env node
// `npm run demo`: generates a small LLaVA-format dataset, creates a demo
// project (./demo-project), imports it, serves the UI and opens it.
// The work is the CLI's `demo` command; this only launches it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const child = spawnSync(process.execPath, [path.join(root, 'bin', 'mia-dpo.mjs'), 'demo', ...(args.length ? args : [path.join(process.cwd(), 'demo-project')])], {
  stdio: 'inherit',
});
process.exit(child.status ?? 1);
