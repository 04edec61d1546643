// Child process of train-crash.test.ts: the real `mia-dpo train` command
// in-process with a terminal-style progress line on stderr (its `done/total`
// counts committed steps). The parent SIGKILLs it at random moments.
import { runCli } from '../../electron/cli/run';

const [model, pairs, out] = process.argv.slice(2) as [string, string, string];
const code = await runCli(
  [
    'train',
    '--model',
    model,
    '--pairs',
    pairs,
    '--out',
    out,
    '--steps',
    '4',
    '--batch',
    '2',
    '--grad-accum',
    '2',
    '--lora-r',
    '4',
    '--lora-alpha',
    '8',
    '--lora-dropout',
    '0.1',
    '--lr',
    '1e-3',
    '--warmup-steps',
    '1',
    '--checkpoint-every',
    '2',
    '--ep',
    'cpu',
  ],
  { stdout: process.stdout, stderr: process.stderr, tty: true },
);
process.exit(code);
