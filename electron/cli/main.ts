// Entry of the `mia-dpo` command line (bin/mia-dpo.mjs runs it through tsx).
import { runCli } from './run';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  tty: Boolean(process.stderr.isTTY),
});
// Let stdout drain before exiting (large --json documents on a pipe).
process.stdout.write('', () => process.exit(code));
