// Child process for the memory planner's test and benchmark: opens a model in
// a weight format, generates, and prints its plan and measured peak RSS
// (VmHWM: a fresh process, so nothing of the parent's counts) as one JSON line.
import { readFileSync } from 'node:fs';
import { LlavaSession } from '../../electron/engine/generate/session';
import type { WeightsChoice } from '../../shared/weights';

const [modelDir, weights, cacheDir, promptTokens, newTokens] = process.argv.slice(2) as [
  string,
  WeightsChoice,
  string,
  string,
  string,
];
const hwm = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
const session = await LlavaSession.open({
  modelDir,
  ep: 'cpu',
  weights,
  weightsCacheDir: cacheDir,
});
const prompt = Array.from({ length: Number(promptTokens) }, (_, i) => `w${i % 10}`).join(' ');
const started = performance.now();
const r = await session.answer({
  images: [],
  prompt,
  raw: true,
  maxNewTokens: Number(newTokens),
  sampling: { temperature: 0 },
});
const ms = performance.now() - started;
const seq = r.generation.inputIds.length + r.generation.tokens.length;
const plan = session.plan(seq);
await session.close();
process.stdout.write(
  JSON.stringify({
    peak: hwm(),
    estimate: plan.totalBytes,
    parts: plan.parts,
    seq,
    ms,
    decodeMs: r.timing.decodeMs,
    tokens: r.generation.tokens.length,
  }) + '\n',
);
