// Child process of respond-crash.test.ts: the real `mia-dpo respond` command
// in-process with a terminal-style progress line on stderr, whose `done/total`
// counts are committed samples. The parent SIGKILLs it at random points.
import { runCli } from '../../electron/cli/run';

const [dir, model] = process.argv.slice(2) as [string, string];
const code = await runCli(['respond', dir, '--model', model, '--max-new-tokens', '12', '--ep', 'cpu', '--perturb'], {
  stdout: process.stdout,
  stderr: process.stderr,
  tty: true,
});
process.exit(code);
