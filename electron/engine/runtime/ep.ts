// Execution-provider detection and choice, run inside the session worker.
// A provider counts as available only when a tiny session really runs on it
// without CPU fallback: WebGPU without an adapter fails only at session
// creation, and CUDA needs provider libraries the npm package does not ship
// by default.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph';
import { add } from '../onnx/ops';
import { serializeModel } from '../onnx/serialize';
import { createLocalSession, type ExplicitEp } from './local';
import type { EpChoice } from '../../../shared/ep';
import type { EpReport } from './protocol';

const require = createRequire(import.meta.url);

/** Where onnxruntime-node keeps CUDA's provider library, or null when it was not installed. */
export function cudaProviderLibrary(): string | null {
  const root = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin');
  if (!existsSync(root)) return null;
  const name = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  for (const napi of readdirSync(root)) {
    const p = path.join(root, napi, process.platform, process.arch, name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Runs x + x on `ep` with CPU fallback disabled; null when it worked, else why not. */
async function probe(ep: 'webgpu' | 'cuda'): Promise<string | null> {
  const g = new Graph('probe');
  const x = g.input('x', 'float32', [2]);
  g.output(add(x, x), 'y');
  try {
    const s = await createLocalSession(serializeModel(g), { ep, strict: true, preferredOutputLocation: 'cpu' });
    try {
      const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) });
      const y = out['y']?.data as Float32Array | undefined;
      return y?.[1] === 4 ? null : `a test graph on ${ep} computed wrong values`;
    } finally {
      await s.release();
    }
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export class EpDetector {
  private webgpu: Promise<string | null> | undefined;
  private cuda: Promise<string | null> | undefined;

  /** Why `ep` cannot be used here, or null when it can (probed once per worker). */
  unavailable(ep: ExplicitEp): Promise<string | null> {
    if (ep === 'cpu') return Promise.resolve(null);
    if (ep === 'webgpu') return (this.webgpu ??= probe('webgpu'));
    return (this.cuda ??= cudaProviderLibrary() === null
      ? Promise.resolve('CUDA provider libraries are not installed (ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js)')
      : probe('cuda'));
  }

  async report(): Promise<EpReport> {
    const [webgpu, cuda] = await Promise.all([this.unavailable('webgpu'), this.unavailable('cuda')]);
    const entry = (r: string | null): { available: boolean; reason?: string } => (r === null ? { available: true } : { available: false, reason: r });
    return { webgpu: entry(webgpu), cuda: entry(cuda) };
  }

  /**
   * The EP to use for `choice`: 'auto' takes CUDA, then WebGPU, then CPU;
   * an explicit GPU EP that is unavailable falls back to CPU with the reason.
   */
  async choose(choice: EpChoice): Promise<{ ep: ExplicitEp; fallbackReason?: string }> {
    if (choice === 'cpu') return { ep: 'cpu' };
    const order: ExplicitEp[] = choice === 'auto' ? ['cuda', 'webgpu'] : [choice];
    const reasons: string[] = [];
    for (const ep of order) {
      const why = await this.unavailable(ep);
      if (why === null) return { ep };
      reasons.push(`${ep}: ${why}`);
    }
    return { ep: 'cpu', fallbackReason: reasons.join('; ') };
  }
}
