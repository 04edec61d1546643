// Weight loading: time and peak RSS to create a CPU session whose MatMul
// weights point into a ~1 GiB safetensors file (ONNX external data, no copy),
// with ORT's weight prepacking (the default, which copies weights into packed
// buffers) and without it (weights stay file-backed). Each case runs in a
// fresh child process so its peak RSS is its own. Target: RSS <= 1.1x the
// weight bytes without prepacking.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { Graph } from '../electron/engine/onnx/graph';
import { matmul } from '../electron/engine/onnx/ops';
import { serializeModel } from '../electron/engine/onnx/serialize';
import { createLocalSession } from '../electron/engine/runtime/local';
import { weightInitializer } from '../electron/engine/weights/external';
import { openWeights } from '../electron/engine/weights/weight-set';
import { writeSafetensors, type TensorsToWrite } from '../electron/engine/weights/writer';
import type { BenchTable } from './table';
import { peakRssMiB } from './table';

const require = createRequire(import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const DIM = 4096;
const LAYERS = 16; // 16 x 4096 x 4096 x 4 bytes = 1 GiB
const REPEAT = 2;
const MiB = 2 ** 20;

/**
 * Writes the weights. Every layer gets different values: ORT shares the
 * prepacked buffer of byte-identical weights, which would hide the copy.
 */
async function writeWeights(dir: string): Promise<number> {
  const tensors: TensorsToWrite = {};
  for (let l = 0; l < LAYERS; l++) {
    const w = new Float32Array(DIM * DIM);
    for (let i = 0; i < w.length; i++) w[i] = (((i + 7919 * l) * 2654435761) % 1000) / 1e6 - 5e-4;
    tensors[`layers.${String(l).padStart(2, '0')}.weight`] = { dtype: 'F32', shape: [DIM, DIM], data: w };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  return LAYERS * DIM * DIM * 4;
}

interface ChildResult {
  createMs: number;
  firstRunMs: number;
  /** A second run: the steady-state cost of reading weights that way. */
  warmRunMs: number;
  /** RSS before the session: Node, ORT and the graph bytes. */
  baseMiB: number;
  peakAfterCreateMiB: number;
  peakAfterRunMiB: number;
}

/** Child mode: one session creation and one run, then report. */
async function child(dir: string, prepack: boolean): Promise<void> {
  const ws = await openWeights(dir);
  const g = new Graph('chain');
  let y = g.input('x', 'float32', [1, DIM]);
  for (const name of ws.names().sort()) y = matmul(y, weightInitializer(g, name, ws.get(name)));
  g.output(y, 'y');
  await ws.close();
  const model = serializeModel(g);
  const baseMiB = process.memoryUsage().rss / MiB;
  let t = performance.now();
  const s = await createLocalSession(model, {
    ep: 'cpu',
    externalDataFolder: dir,
    disablePrepacking: !prepack,
    intraOpThreads: 2,
  });
  const createMs = performance.now() - t;
  const peakAfterCreateMiB = peakRssMiB();
  const x = new ort.Tensor('float32', new Float32Array(DIM).fill(1), [1, DIM]);
  t = performance.now();
  await s.run({ x });
  const firstRunMs = performance.now() - t;
  t = performance.now();
  await s.run({ x });
  const warmRunMs = performance.now() - t;
  const result: ChildResult = {
    createMs,
    firstRunMs,
    warmRunMs,
    baseMiB,
    peakAfterCreateMiB,
    peakAfterRunMiB: peakRssMiB(),
  };
  await s.release();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(dir: string, prepack: boolean): ChildResult {
  const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), SELF], {
    env: { ...process.env, WEIGHTS_BENCH_CHILD: JSON.stringify({ dir, prepack }) },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`weights bench child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult;
}

export async function run(): Promise<BenchTable> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'weights-bench-'));
  try {
    const bytes = await writeWeights(dir);
    const weightsMiB = bytes / MiB;
    const results: Record<'prepack' | 'noprepack', ChildResult[]> = { prepack: [], noprepack: [] };
    for (let i = 0; i < REPEAT; i++) {
      results.noprepack.push(runChild(dir, false));
      results.prepack.push(runChild(dir, true));
    }
    const rows = (['noprepack', 'prepack'] as const).map((k) => {
      const rs = results[k];
      const min = (f: (r: ChildResult) => number): number => Math.min(...rs.map(f));
      const max = (f: (r: ChildResult) => number): number => Math.max(...rs.map(f));
      const peak = max((r) => r.peakAfterRunMiB);
      const base = min((r) => r.baseMiB);
      return [
        k === 'prepack' ? 'prepacking on (ORT default)' : 'prepacking off (disable_prepacking=1)',
        min((r) => r.createMs),
        min((r) => r.firstRunMs),
        min((r) => r.warmRunMs),
        max((r) => r.peakAfterCreateMiB),
        peak,
        (peak - base) / weightsMiB,
        peak / weightsMiB,
      ];
    });
    return {
      columns: [
        'case',
        'create ms',
        'first run ms',
        'warm run ms',
        'peak RSS after create MiB',
        'peak RSS after run MiB',
        '(peak - base) / weights',
        'peak / weights',
      ],
      rows,
      notes: [
        `weights: ${LAYERS} F32 tensors [${DIM}, ${DIM}] in one safetensors file, ${weightsMiB.toFixed(0)} MiB, chained MatMul graph with external initializers into the file`,
        `each case in a fresh child process, ${REPEAT} repeats alternating (times: min; RSS: max); CPU EP, 2 intra-op threads; runs: x [1, ${DIM}] through all ${LAYERS} MatMuls; base = RSS before session creation (Node + ORT), min ${Math.min(...[...results.prepack, ...results.noprepack].map((r) => r.baseMiB)).toFixed(0)} MiB`,
        'the file was just written, so its pages are in the page cache: times exclude disk reads; file-backed mmap pages count in RSS once touched',
        `parent process peak RSS ${peakRssMiB().toFixed(0)} MiB`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const childArgs = process.env['WEIGHTS_BENCH_CHILD'];
if (childArgs) {
  const { dir, prepack } = JSON.parse(childArgs) as { dir: string; prepack: boolean };
  await child(dir, prepack);
}
