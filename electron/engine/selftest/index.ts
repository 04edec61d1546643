// The engine self-test behind `mia-dpo selftest [--ep cpu|webgpu] --json`:
// every gradient rule against finite differences on the chosen EP (strict, no
// CPU fallback) and a short LoRA training run through the production LLaVA
// decoder. What a user runs on a new machine or GPU.
import type { ExplicitEp } from '../runtime/local';
import { acquireRuntime } from '../runtime/runtime';
import { GRAD_CASES } from './cases';
import type { CheckResult } from './gradcheck';
import { checkGradient } from './gradcheck';
import { fitLoraTask } from './fit';

export interface SelftestReport {
  ep: ExplicitEp;
  /** `error` is set when a check could not run at all. */
  ops: (CheckResult & { error?: string })[];
  train: { initialLoss: number; finalLoss: number; steps: number; ok: boolean; error?: string };
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The LoRA fit must end below this loss (it starts near 6.0 and ends near 0.03 on CPU). */
export const TRAIN_TARGET_LOSS = 0.05;
const TRAIN_STEPS = 40;

export async function runSelftest(opts: {
  ep: ExplicitEp;
  onProgress?: (done: number, total: number) => void;
}): Promise<SelftestReport> {
  // One lease for the whole run: every check and the training share one session worker instead of starting one each.
  const lease = acquireRuntime();
  try {
    return await selftestWith(opts);
  } finally {
    await lease.release();
  }
}

async function selftestWith(opts: {
  ep: ExplicitEp;
  onProgress?: (done: number, total: number) => void;
}): Promise<SelftestReport> {
  const ops: SelftestReport['ops'] = [];
  for (const c of GRAD_CASES) {
    try {
      ops.push(await checkGradient(c, { ep: opts.ep }));
    } catch (e) {
      // A check that cannot run (session refused, kernel missing) is a failed check, not a crash of the whole self-test.
      ops.push({
        op: c.name,
        maxAbsErr: Number.POSITIVE_INFINITY,
        maxRelErr: Number.POSITIVE_INFINITY,
        ok: false,
        error: message(e),
      });
    }
    opts.onProgress?.(ops.length, GRAD_CASES.length + 1);
  }
  let losses: number[] = [];
  let error: string | undefined;
  try {
    losses = await fitLoraTask({ ep: opts.ep, steps: TRAIN_STEPS });
  } catch (e) {
    error = message(e);
  }
  opts.onProgress?.(GRAD_CASES.length + 1, GRAD_CASES.length + 1);
  const initialLoss = losses[0] ?? Number.NaN;
  const finalLoss = losses[losses.length - 1] ?? Number.NaN;
  const ok = losses.length === TRAIN_STEPS && losses.every(Number.isFinite) && finalLoss < TRAIN_TARGET_LOSS;
  const train = { initialLoss, finalLoss, steps: losses.length, ok };
  return { ep: opts.ep, ops, train: error === undefined ? train : { ...train, error } };
}

/** True when every check passed: the CLI exits non-zero otherwise. */
export function selftestPassed(r: SelftestReport): boolean {
  return r.train.ok && r.ops.every((o) => o.ok);
}
