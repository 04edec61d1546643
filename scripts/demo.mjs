#!/usr/bin/env node
// `npm run demo [-- DIR] [--no-serve] [--json] [--quick]`: MIA-DPO end to end on
// the demo world with the project's trained base model (demo/base-model): world
// data, import, augment, respond with attention, select, LoRA-DPO, evaluation of
// base and adapter, the before/after table, then the UI on the project
// (./demo-project; docs/demo.md). The work is the CLI's `demo` command; this
// builds the renderer first when a fresh checkout has not built it yet, then
// launches that command.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (!existsSync(path.join(root, 'renderer', 'dist', 'index.html'))) {
  process.stdout.write('building the UI once (npm run build:renderer)...\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const build = spawnSync(npm, ['run', 'build:renderer'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    process.stderr.write('demo: building the UI failed; see the output above\n');
    process.exit(1);
  }
}

const args = process.argv.slice(2);
const child = spawnSync(
  process.execPath,
  [path.join(root, 'bin', 'mia-dpo.mjs'), 'demo', ...(args.length ? args : [path.join(process.cwd(), 'demo-project')])],
  {
    stdio: 'inherit',
  },
);
process.exit(child.status ?? 1);
