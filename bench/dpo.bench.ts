// DPO train-step benchmark (issue 9): one optimizer step of LoRA-DPO (r 128,
// alpha 256, dropout 0.05 on q, k, v, o, gate, up, down; sigmoid loss, clip 1,
// AdamW) on random LLaVAs of 47.6M and 146M parameters in fp32 on CPU, ours
// (DpoTrainer.step: one session.run of the DPO step graph) against PyTorch 1.13
// eager autograd + torch.optim.AdamW (test/reference/dpo_ref.py --bench) on the
// same weights, pairs, batch and threads, in the same run. Each side runs in
// its own process so its peak RSS is its own. WebGPU (SwiftShader on a machine
// without a GPU) on a small model: LoRA weights and AdamW state kept on the
// device between steps (the trainer's way) vs copied out and back each step.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng } from '../electron/engine/generate/sampling';
import { LORA_TARGETS } from '../electron/engine/models/lora';
import { writeRandomLlava, type RandomLlavaOptions } from '../electron/engine/models/random-checkpoint';
import { DpoTrainer, type DpoExample } from '../electron/engine/train/dpo/trainer';
import type { BenchTable } from './table';

const THREADS = 2;
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const STEPS = 3;
const here = fileURLToPath(import.meta.url);
const IMG = 32000;

type ModelName = 'small' | 'medium' | 'large';

interface Case {
  name: string;
  model: ModelName;
  /** Default 'cpu' (against PyTorch); 'webgpu' cases run ours only. */
  ep?: 'cpu' | 'webgpu';
  /** WebGPU: 'copied' reads LoRA weights and AdamW moments back after every step and sends them again with the next. */
  state?: 'resident' | 'copied';
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

const TWO_PAIRS = { pairs: 2, prompt: 20, chosen: 48, rejected: 40 };
const ONE_PAIR = { pairs: 1, prompt: 20, chosen: 96, rejected: 80 };
const TWO_PAIRS_NAME = '2 pairs, 1 image each, prompt 20 + 64 image tokens, answers 48 / 40';
const ONE_PAIR_NAME = '1 pair, 1 image, prompt 20 + 64 image tokens, answers 96 / 80';
const WEBGPU_PAIR = { pairs: 1, prompt: 20, chosen: 32, rejected: 24, steps: 2 };
const WEBGPU_NAME = '1 pair, 1 image, prompt 20 + 64 image tokens, answers 32 / 24';

const CASES: Case[] = [
  { name: `47.6M: ${TWO_PAIRS_NAME}`, model: 'medium', ...TWO_PAIRS },
  { name: `47.6M: ${ONE_PAIR_NAME}`, model: 'medium', ...ONE_PAIR },
  { name: `146M: ${ONE_PAIR_NAME}`, model: 'large', ...ONE_PAIR, steps: 2 },
  {
    name: `WebGPU 18.4M, state on the device: ${WEBGPU_NAME}`,
    model: 'small',
    ep: 'webgpu',
    state: 'resident',
    ...WEBGPU_PAIR,
  },
  {
    name: `WebGPU 18.4M, state copied each step: ${WEBGPU_NAME}`,
    model: 'small',
    ep: 'webgpu',
    state: 'copied',
    ...WEBGPU_PAIR,
  },
];

// 64 tokens per image (112 px, patch 14) at every size; the tower is frozen and its features are given.
const IMAGE = { image: 112, patch: 14 };
const MODELS: Record<ModelName, RandomLlavaOptions> = {
  small: {
    seed: 3,
    textLayers: 2,
    visionLayers: 1,
    size: { hidden: 256, heads: 4, headDim: 64, inter: 688, vHidden: 128, vHeads: 2, vInter: 512, ...IMAGE },
  },
  medium: {
    seed: 3,
    textLayers: 4,
    visionLayers: 2,
    size: { hidden: 512, heads: 8, headDim: 64, inter: 1376, vHidden: 256, vHeads: 4, vInter: 1024, ...IMAGE },
  },
  // The 146M size of the merge benchmark (text 768 x 12 layers, MLP 2048, 32k vocabulary).
  large: {
    seed: 3,
    textLayers: 12,
    visionLayers: 6,
    size: { hidden: 768, heads: 12, headDim: 64, inter: 2048, vHidden: 384, vHeads: 6, vInter: 1536, ...IMAGE },
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
  const hidden = (
    JSON.parse(readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { text_config: { hidden_size: number } }
  ).text_config.hidden_size;
  const t = await DpoTrainer.create({
    modelDir,
    ep: c.ep ?? 'cpu',
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
  const feature = Float32Array.from({ length: 64 * hidden }, () => (rng() - 0.5) * 0.2);
  const batch: DpoExample[] = pairs(c).map((p) => ({
    promptIds: p.prompt_ids,
    features: [feature],
    chosenIds: p.chosen_ids,
    rejectedIds: p.rejected_ids,
    refChosen: -50,
    refRejected: -60,
  }));
  const step = async (s: number): Promise<void> => {
    await t.step(batch, { lr: 5e-5, apply: true, stepIndex: s });
    // Copied mode: the state leaves the device after the step and is sent again with the next one.
    if (c.state === 'copied') await t.importState(await t.exportState());
  };
  await step(0);
  const steps = c.steps ?? STEPS;
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) await step(s);
  const seconds = (performance.now() - t0) / 1000 / steps;
  const seq = Math.ceil((c.prompt + 63 + Math.max(c.chosen, c.rejected)) / 32) * 32;
  await t.close();
  return { seconds, rss: vmHwmMiB(), seq };
}

function runTorch(modelDir: string, c: Case): { seconds_per_step: number; peak_rss_mib: number; torch: string } {
  const dir = path.join(modelDir, `bench-${c.pairs}.json`);
  const req = {
    threads: THREADS,
    steps: c.steps ?? STEPS,
    rank: 128,
    alpha: 256,
    dropout: 0.05,
    beta: 0.1,
    pairs: pairs(c),
  };
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
    env: c.ep === 'webgpu' ? { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER, ...process.env } : process.env,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; rss: number; seq: number };
}

export async function run(): Promise<BenchTable> {
  const rows: (string | number)[][] = [];
  let torchVersion = '';
  const dirs = new Map<ModelName, string>();
  try {
    for (const c of CASES) {
      let dir = dirs.get(c.model);
      if (dir === undefined) {
        dir = (await writeRandomLlava(MODELS[c.model])).dir;
        dirs.set(c.model, dir);
      }
      const ours = runOursChild(dir, c);
      const label = `${c.name} (graph length ${ours.seq})`;
      if (c.ep === 'webgpu') {
        rows.push([label, ours.seconds * 1000, '-', '-', ours.rss, '-', '-']);
        continue;
      }
      const ref = runTorch(dir, c);
      torchVersion = ref.torch;
      rows.push([
        label,
        ours.seconds * 1000,
        ref.seconds_per_step * 1000,
        ours.seconds / ref.seconds_per_step,
        ours.rss,
        ref.peak_rss_mib,
        ours.rss / ref.peak_rss_mib,
      ]);
    }
  } finally {
    for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
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
      "random LLaVAs, fp32, 32k vocabulary, 64 tokens per image: 47.6M parameters (text 512 x 4 layers, MLP 1376), 146M (text 768 x 12 layers, MLP 2048, the merge benchmark's size), 18.4M for WebGPU (text 256 x 2 layers)",
      'step = chosen + rejected forward, sigmoid DPO loss, backward to LoRA r128 / alpha 256 (dropout 0.05) on q, k, v, o, gate, up, down, clip 1, AdamW; image features given (frozen tower, cached), reference log-probs given',
      `ours: DpoTrainer.step (one session.run, state in the session host) with the trainer's session defaults (weights not prepacked, no CPU arena, no memory pattern; decision 0600), ORT intra-op threads ${THREADS}; PyTorch ${torchVersion} eager, torch.set_num_threads(${THREADS}), OPENBLAS_NUM_THREADS=${THREADS}, each sequence run alone (no padding), the mean loss backpropagated once`,
      `seconds per step: mean of ${STEPS} steps (2 for the 146M and WebGPU cases) after one warm-up step; peak RSS = VmHWM of each side's own process (start-up included)`,
      'WebGPU: SwiftShader (software Vulkan on the CPU) when VK_ICD_FILENAMES is unset, ours only; "state on the device" is the trainer as it runs (LoRA weights, AdamW moments, gradient sums stay GPU buffers in the session host), "copied" adds exportState + importState after every step (every weight and moment read back to the caller and uploaded again with the next step)',
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
