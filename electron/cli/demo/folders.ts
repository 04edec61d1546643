// Where the demo's model and folders are: the shipped base model (or --model)
// with a message that says how to build it, and the demo folder, which the
// demo owns (replaced on a rerun) unless it holds something else.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../../shared/errors';

/** The checkout (or installed package) root: the nearest folder above this file with a package.json. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new AppError('internal', 'no package.json above the demo command', {});
    dir = up;
  }
  return dir;
}

/** The shipped base model, or the one given; missing, the message says how to build it. */
export function demoModel(given: string | undefined): string {
  const dir = given === undefined ? path.join(packageRoot(), 'demo', 'base-model') : path.resolve(given);
  if (!existsSync(path.join(dir, 'config.json')))
    throw new AppError(
      'not-found',
      given === undefined
        ? `the demo's base model is missing: ${dir} holds no config.json; build it with \`npm run demo:base\` (or give a llava-hf folder with --model DIR)`
        : `--model ${dir} is not a model folder (no config.json)`,
      { subject: dir },
    );
  return dir;
}

/** The demo owns its folder: a rerun starts fresh. Anything else in the way is left alone. */
export function prepareDemoFolder(dir: string): void {
  if (!existsSync(dir) || readdirSync(dir).length === 0) return;
  // world/: this demo; dataset/llava.json and project/project.sqlite: the earlier random-model demo's layouts.
  const ours = ['world', path.join('dataset', 'llava.json'), path.join('project', 'project.sqlite')].some((f) =>
    existsSync(path.join(dir, f)),
  );
  if (!ours)
    throw new AppError('conflict', `${dir} exists and is not a demo folder; give the demo a new or empty folder`, {
      subject: dir,
    });
  rmSync(dir, { recursive: true, force: true });
}
