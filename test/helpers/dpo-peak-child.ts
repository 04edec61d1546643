// Child process for the training memory planner's test and the DPO memory
// benchmark: one DpoTrainer in a weight format, with or without gradient
// checkpointing, runs `steps` optimizer steps on synthetic pairs (image features
// given), then prints the planner's estimate and the measured peak RSS (VmHWM
// of this fresh process) as one JSON line.
// Usage: node --import tsx test/helpers/dpo-peak-child.ts MODEL_DIR '<DpoPeakCase json>'
import { readFileSync } from 'node:fs';
import { createRng } from '../../electron/engine/generate/sampling';
import { LORA_TARGETS } from '../../electron/engine/models/lora';
import { DpoTrainer, type DpoExample } from '../../electron/engine/train/dpo/trainer';

export interface DpoPeakCase {
  format: 'fp32' | 'int8' | 'int4';
  cacheDir: string;
  checkpointing: boolean;
  pairs: number;
  /** Text tokens of the prompt (besides its images), of the chosen and of the rejected answer. */
  prompt: number;
  images: number;
  chosen: number;
  rejected: number;
  rank: number;
  dropout: number;
  steps: number;
  threads?: number;
}

const hwm = (): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

async function main(modelDir: string, c: DpoPeakCase): Promise<void> {
  const t = await DpoTrainer.create({
    modelDir,
    ep: 'cpu',
    ...(c.threads ? { threads: c.threads } : {}),
    lora: { rank: c.rank, alpha: 2 * c.rank, rslora: false, targets: LORA_TARGETS, dropout: c.dropout },
    dpo: { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 },
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    clipNorm: 1,
    seed: 1,
    weights: { format: c.format, block: 32, cacheDir: c.cacheDir },
    checkpointing: c.checkpointing,
  });
  const spec = t.spec;
  const rng = createRng(5);
  const ids = (n: number): number[] => Array.from({ length: n }, () => 3 + Math.floor(rng() * 300));
  const feature = Float32Array.from({ length: spec.tokensPerImage * spec.text.hiddenSize }, () => (rng() - 0.5) * 0.2);
  const batch: DpoExample[] = Array.from({ length: c.pairs }, () => ({
    promptIds: [1, ...Array.from({ length: c.images }, () => spec.imageTokenId), ...ids(c.prompt - 1)],
    features: Array.from({ length: c.images }, () => feature),
    chosenIds: [...ids(c.chosen - 1), 2],
    rejectedIds: [...ids(c.rejected - 1), 2],
    refChosen: -50,
    refRejected: -60,
  }));
  const plan = t.plan(batch);
  const times: number[] = [];
  for (let s = 0; s < c.steps; s++) times.push((await t.step(batch, { lr: 1e-5, apply: true, stepIndex: s })).stepMs);
  await t.close();
  process.stdout.write(
    `${JSON.stringify({ peak: hwm(), estimate: plan.totalBytes, parts: plan.parts, seq: plan.seq, stepMs: times })}\n`,
  );
}

const [modelDir, json] = process.argv.slice(2);
main(modelDir!, JSON.parse(json!) as DpoPeakCase).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
