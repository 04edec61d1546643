// DPO train-step benchmark (issue 9): one optimizer step of LoRA-DPO (r 128,
// alpha 256, dropout 0.05 on q, k, v, o, gate, up, down; sigmoid loss, clip 1,
// AdamW) on the medium random LLaVA (47.6M parameters) in fp32 on CPU, ours
// (DpoTrainer.step: one session.run of the DPO step graph) against PyTorch 1.13
// eager autograd + torch.optim.AdamW (test/reference/dpo_ref.py --bench) on the
// same weights, pairs, batch and threads, in the same run. Each side runs in
// its own process so its peak RSS is its own.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../electron/engine/generate/sampling';
import { LORA_TARGETS } from '../electron/engine/models/lora';
import { writeRandomLlava } from '../electron/engine/models/random-checkpoint';
import { DpoTrainer, type DpoExample } from '../electron/engine/train/dpo/trainer';
import type { BenchTable } from './table';

const THREADS = 2;
const STEPS = 3;
const here = fileURLToPath(import.meta.url);
const IMG = 32000;

interface Case {
  name: string;
  pairs: number;
  prompt: number;
  chosen: number;
  rejected: number;
  /** Our side with file-backed weights (no prepacked copy). */
  disablePrepacking?: boolean;
  /** Our side's onnxruntime arena allocator / memory-pattern planning (default on). */
  cpuMemArena?: boolean;
  memPattern?: boolean;
  /** Measured steps after the warm-up step (default STEPS). */
  steps?: number;
}

const CASES: Case[] = [
  {
    name: '2 pairs, 1 image each, prompt 20 + 64 image tokens, answers 48 / 40',
    pairs: 2,
    prompt: 20,
    chosen: 48,
    rejected: 40,
  },
  {
    name: '1 pair, 1 image, prompt 20 + 64 image tokens, answers 96 / 80',
    pairs: 1,
    prompt: 20,
    chosen: 96,
    rejected: 80,
  },
];

const MEDIUM = {
  seed: 3,
  textLayers: 4,
  visionLayers: 2,
  size: {
    hidden: 512,
    heads: 8,
    headDim: 64,
    inter: 1376,
    vHidden: 256,
    vHeads: 4,
    vInter: 1024,
    image: 112,
    patch: 14,
  },
};

interface PairIds {
  prompt_ids: number[];
  chosen_ids: number[];
  rejected_ids: number[];
  images: number[];
}

function pairs(c: Case): PairIds[] {
  const rng = createRng(7);
  const ids = (n: number): number[] => Array.from({ length: n }, () => 3 + Math.floor(rng() * 31000));
  return Array.from({ length: c.pairs }, () => ({
    prompt_ids: [1, ...ids(c.prompt / 2), IMG, ...ids(c.prompt / 2 - 1)],
    chosen_ids: [...ids(c.chosen - 1), 2],
    rejected_ids: [...ids(c.rejected - 1), 2],
    images: [0],
  }));
}

function vmHwmMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Child mode: one case with our trainer; seconds per step after one warm-up step, and peak RSS. */
async function runOurs(modelDir: string, c: Case): Promise<{ seconds: number; rss: number; seq: number }> {
  const t = await DpoTrainer.create({
    modelDir,
    ep: 'cpu',
    threads: THREADS,
    lora: { rank: 128, alpha: 256, rslora: false, targets: LORA_TARGETS, dropout: 0.05 },
    dpo: { beta: 0.1, loss: 'sigmoid', labelSmoothing: 0, sftWeight: 0 },
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 },
    clipNorm: 1,
    seed: 1,
    ...(c.disablePrepacking ? { disablePrepacking: true } : {}),
    ...(c.cpuMemArena !== undefined ? { cpuMemArena: c.cpuMemArena } : {}),
    ...(c.memPattern !== undefined ? { memPattern: c.memPattern } : {}),
  });
  const rng = createRng(5);
  const feature = Float32Array.from({ length: 64 * 512 }, () => (rng() - 0.5) * 0.2);
  const batch: DpoExample[] = pairs(c).map((p) => ({
    promptIds: p.prompt_ids,
    features: [feature],
    chosenIds: p.chosen_ids,
    rejectedIds: p.rejected_ids,
    refChosen: -50,
    refRejected: -60,
  }));
  await t.step(batch, { lr: 5e-5, apply: true, stepIndex: 0 });
  const steps = c.steps ?? STEPS;
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) await t.step(batch, { lr: 5e-5, apply: true, stepIndex: s });
  const seconds = (performance.now() - t0) / 1000 / steps;
  const seq = Math.ceil((c.prompt + 63 + Math.max(c.chosen, c.rejected)) / 32) * 32;
  await t.close();
  return { seconds, rss: vmHwmMiB(), seq };
}

function runTorch(modelDir: string, c: Case): { seconds_per_step: number; peak_rss_mib: number; torch: string } {
  const dir = path.join(modelDir, `bench-${c.pairs}.json`);
  const req = { threads: THREADS, steps: STEPS, rank: 128, alpha: 256, dropout: 0.05, beta: 0.1, pairs: pairs(c) };
  writeFileSync(dir, JSON.stringify(req));
  const out = execFileSync(
    process.env.MIA_PYTHON ?? '/usr/bin/python3',
    [path.resolve(path.dirname(here), '../test/reference/dpo_ref.py'), '--bench', modelDir, dir],
    {
      encoding: 'utf8',
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) },
    },
  );
  return JSON.parse(out) as ReturnType<typeof runTorch>;
}

function runOursChild(modelDir: string, c: Case): { seconds: number; rss: number; seq: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', here, modelDir, JSON.stringify(c)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; rss: number; seq: number };
}

export async function run(): Promise<BenchTable> {
  const model = await writeRandomLlava(MEDIUM);
  const rows: (string | number)[][] = [];
  let torchVersion = '';
  for (const c of CASES) {
    const ours = runOursChild(model.dir, c);
    const ref = runTorch(model.dir, c);
    torchVersion = ref.torch;
    rows.push([
      `${c.name} (graph length ${ours.seq})`,
      ours.seconds * 1000,
      ref.seconds_per_step * 1000,
      ours.seconds / ref.seconds_per_step,
      ours.rss,
      ref.peak_rss_mib,
      ours.rss / ref.peak_rss_mib,
    ]);
  }
  return {
    columns: [
      'case',
      'ours ms/step',
      'PyTorch ms/step',
      'time ours/PyTorch',
      'ours peak RSS MiB',
      'PyTorch peak RSS MiB',
      'RSS ours/PyTorch',
    ],
    rows,
    notes: [
      'medium random LLaVA (47.6M parameters, text 512 x 4 layers, 32k vocabulary, 64 tokens per image), fp32, CPU',
      'step = chosen + rejected forward, sigmoid DPO loss, backward to LoRA r128 / alpha 256 (dropout 0.05) on q, k, v, o, gate, up, down, clip 1, AdamW; image features given (frozen tower, cached), reference log-probs given',
      `ours: DpoTrainer.step (one session.run, state in the session host), ORT intra-op threads ${THREADS}; PyTorch ${torchVersion} eager, torch.set_num_threads(${THREADS}), OPENBLAS_NUM_THREADS=${THREADS}, each sequence run alone (no padding), the mean loss backpropagated once`,
      `seconds per step: mean of ${STEPS} steps after one warm-up step; peak RSS = VmHWM of each side's own process (start-up included)`,
    ],
  };
}

// Child mode: `node --import tsx bench/dpo.bench.ts MODEL_DIR '<case json>'` runs our side of one case.
if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  runOurs(process.argv[2]!, JSON.parse(process.argv[3]!) as Case).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
