// Child process of eval-crash.test.ts: the real `mia-dpo eval` command
// in-process with a terminal-style progress line on stderr, whose `done/total`
// counts are committed items. The parent SIGKILLs it at random points.
import { runCli } from '../../electron/cli/run';

const [dir, model] = process.argv.slice(2) as [string, string];
const code = await runCli(['eval', dir, '--model', model, '--bench', 'crash', '--max-new-tokens', '8', '--ep', 'cpu'], {
  stdout: process.stdout,
  stderr: process.stderr,
  tty: true,
});
process.exit(code);
