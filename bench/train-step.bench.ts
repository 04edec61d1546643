// Train-step benchmark: forward + backward + AdamW (global-norm clip) of a
// stack of the production decoder's Llama-style layers (every weight trained)
// as one ORT graph on CPU, against the same stack in PyTorch 1.13 eager
// (test/reference/block_ref.py) on CPU with the same shapes and thread count,
// in the same run. Each
// ORT case runs in a child process so its peak RSS is its own. The ORT side is
// the TrainStepSession as the app uses it: the step runs in the session host's
// worker thread (engine/runtime), state kept there, loss read back per step.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { staticShape } from '../electron/engine/models/nn';
import { inputParams } from '../electron/engine/models/params';
import { Graph, op, serializeModel } from '../electron/engine/onnx';
import { TrainStepSession, buildTrainStep } from '../electron/engine/train/train-step';
import { decoderStack, stackModel, type StackDims } from './decoder-stack';
import type { BenchTable } from './table';

interface Case {
  dims: StackDims;
  layers: number;
  seq: number;
  batch: number;
  steps: number;
}

const THREADS = 2;
const CASES: Case[] = [
  { dims: { hidden: 256, heads: 4, inter: 1024 }, layers: 4, seq: 256, batch: 1, steps: 3 },
  { dims: { hidden: 768, heads: 12, inter: 3072 }, layers: 4, seq: 256, batch: 1, steps: 2 },
];
const here = fileURLToPath(import.meta.url);

/**
 * Peak RSS of this process image in MiB from VmHWM. Not getrusage's maxRSS: Linux carries that across
 * fork + exec, so a child would report at least its parent's size at spawn time.
 */
function vmHwmMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
const rand = (n: number, scale: number): Float32Array =>
  Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * scale);

/** One case in this process: seconds per step (after one warm-up step) and peak RSS. */
async function runOrt(c: Case): Promise<{ seconds: number; rss: number }> {
  const { hidden } = c.dims;
  const g = new Graph('stack');
  const p = inputParams(g, stackModel(c.dims, c.layers).shapes);
  const { y, feeds } = decoderStack(g, p, c.dims, c.layers, c.batch, c.seq);
  const target = g.input('target', 'float32', [c.batch, c.seq, hidden]);
  const d = op.sub(y, target);
  const loss = op.reduceMean(op.mul(d, d), [0, 1, 2], false);
  const io = buildTrainStep({ loss, params: p.inputs, clipNorm: 1, adamw: { weightDecay: 0.1 } });
  const session = await TrainStepSession.create(serializeModel(g), io, { ep: 'cpu', intraOpThreads: THREADS });
  session.init(
    Object.fromEntries(
      p.inputs.map((v) => {
        const s = staticShape(v);
        return [
          v.name,
          new ort.Tensor(
            'float32',
            v.name.endsWith('layernorm.weight')
              ? new Float32Array(s[0]!).fill(1)
              : rand(s[0]! * s[1]!, 1 / Math.sqrt(s[1]!)),
            s,
          ),
        ];
      }),
    ),
  );
  const batch = {
    ...feeds,
    target: new ort.Tensor('float32', rand(c.batch * c.seq * hidden, 1), [c.batch, c.seq, hidden]),
  };
  await session.step(batch, 1e-3);
  const t0 = performance.now();
  for (let s = 0; s < c.steps; s++) await session.step(batch, 1e-3);
  const seconds = (performance.now() - t0) / 1000 / c.steps;
  await session.release();
  return { seconds, rss: vmHwmMiB() };
}

function runTorch(c: Case): {
  seconds_per_step: number;
  peak_rss_mib: number;
  threads: number;
  blas: string[];
  torch: string;
} {
  const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
  const script = path.join(path.dirname(here), '..', 'test', 'reference', 'block_ref.py');
  const args = [
    '--bench',
    '--layers',
    c.layers,
    '--hidden',
    c.dims.hidden,
    '--heads',
    c.dims.heads,
    '--inter',
    c.dims.inter,
    '--seq',
    c.seq,
    '--batch',
    c.batch,
    '--steps',
    c.steps,
    '--threads',
    THREADS,
  ].map(String);
  const out = execFileSync(python, [script, ...args], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS) },
    encoding: 'utf8',
  });
  return JSON.parse(out) as ReturnType<typeof runTorch>;
}

function runOrtChild(c: Case): { seconds: number; rss: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', here, JSON.stringify(c)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; rss: number };
}

export async function run(): Promise<BenchTable> {
  const rows: (string | number)[][] = [];
  let torchInfo = '';
  for (const c of CASES) {
    const ours = runOrtChild(c);
    const ref = runTorch(c);
    torchInfo = `PyTorch ${ref.torch}, BLAS ${ref.blas.join(', ')}, ${ref.threads} threads`;
    const name = `${c.layers} x hidden ${c.dims.hidden} (${c.dims.heads} heads, MLP ${c.dims.inter}), batch ${c.batch} x seq ${c.seq}`;
    rows.push([
      name,
      ours.seconds * 1000,
      ref.seconds_per_step * 1000,
      ours.seconds / ref.seconds_per_step,
      ours.rss,
      ref.peak_rss_mib,
    ]);
  }
  return {
    columns: [
      'case',
      'ORT ms/step',
      'PyTorch ms/step',
      'ratio ORT/PyTorch',
      'ORT peak RSS MiB',
      'PyTorch peak RSS MiB',
    ],
    rows,
    notes: [
      'step = forward + backward + global-norm clip + AdamW, float32, CPU EP; ORT: TrainStepSession.step, one run of the train-step graph in the session host worker (after 1 warm-up step)',
      `ORT intra-op threads ${THREADS}; ${torchInfo} (OPENBLAS_NUM_THREADS=${THREADS}); ratio < 1 means ORT is faster`,
      'peak RSS: VmHWM of each side in its own process (ORT in a child Node process, its session worker included; PyTorch in python3), including runtime start-up',
    ],
  };
}

// Child mode: `node --import tsx bench/train-step.bench.ts '<case json>'` runs one ORT case and prints JSON.
if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  runOrt(JSON.parse(process.argv[2]!) as Case).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
