// Child of lock-race.test.ts: one of several processes that try, at the same
// instants, to take over the stale locks of many project folders.
import { lockProject } from '../../../electron/store/lock';

const [baseDir, trialsArg] = process.argv.slice(2);
const trials = Number(trialsArg);
const SPACING_MS = 4;

let input = '';
process.stdin.on('data', (d: Buffer) => {
  input += d.toString();
  if (!input.includes('\n')) return;
  // The parent sends the common start time once every child is ready.
  const startAt = Number(input.trim());
  const got: number[] = [];
  for (let i = 0; i < trials; i++) {
    while (Date.now() < startAt + i * SPACING_MS) {
      // Spin: a timer would blur the instants the children share.
    }
    try {
      lockProject(`${baseDir}/t${i}`);
      got.push(i);
    } catch {
      // Refused: another process holds it.
    }
  }
  // Stay alive (holding the locks) until the parent has every child's answer.
  process.stdout.write(`${JSON.stringify(got)}\n`);
  process.stdin.on('end', () => process.exit(0));
});
process.stdout.write('ready\n');
