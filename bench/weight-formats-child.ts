// One measurement of the weight-formats suite in a fresh process (so its peak
// RSS is its own): loads the model in a format (the quantized file already
// cached), decodes, and prints decode tokens/s, the weight bytes a decode step
// reads and the peak RSS as one JSON line.
import { readFileSync } from 'node:fs';
import { generate } from '../electron/engine/generate/generate';
import { loadRunner } from '../electron/engine/generate/load';
import type { WeightFormat } from '../shared/weights';

const [dir, format, cacheDir, steps] = process.argv.slice(2) as [string, WeightFormat, string, string];
const runner = await loadRunner(dir, { ep: 'cpu', weights: { choice: format, cacheDir } });
const ids = Array.from({ length: 32 }, (_, i) => 100 + ((i * 37) % 3000));
let prefillEnd = 0;
const run = async (n: number): Promise<number> => {
  prefillEnd = 0;
  await generate(runner, ids, [], {
    maxNewTokens: n + 1,
    shouldStop: () => {
      prefillEnd ||= performance.now();
      return false;
    },
  });
  return (performance.now() - prefillEnd) / 1000;
};
await run(2); // builds the session
const decodeS = Math.min(await run(Number(steps)), await run(Number(steps)));
await runner.release();
await runner.model.checkpoint.close();
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
process.stdout.write(JSON.stringify({ tokPerS: Number(steps) / decodeS, peak: hwm }) + '\n');
