// Execution-provider detection and choice, run inside the session worker.
// A provider counts as available only when a tiny session really runs on it
// without CPU fallback: WebGPU without an adapter fails only at session
// creation, and CUDA needs provider libraries the npm package does not ship
// by default. The WebGPU probe runs in a child process: Dawn writes the
// Vulkan loader's complaints straight to the process's stderr, which is
// captured there and turned into one line of the reason.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { Graph } from '../onnx/graph';
import { add } from '../onnx/ops';
import { serializeModel } from '../onnx/serialize';
import { createLocalSession, VULKAN_DLOPEN_FLAGS, vulkanLoaderBesideIcd, type ExplicitEp } from './local';
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

/** The probe graph: y = x + x. */
function probeModel(): Uint8Array {
  const g = new Graph('probe');
  const x = g.input('x', 'float32', [2]);
  g.output(add(x, x), 'y');
  return serializeModel(g);
}

/**
 * The WebGPU probe of a child process (plain JavaScript, so it runs the same from sources and from a build): preloads
 * the Vulkan loader beside VK_ICD_FILENAMES as createLocalSession does, runs x + x on WebGPU with CPU fallback off, and
 * prints `{"reason": null | "why not"}`.
 */
const WEBGPU_PROBE = `
const { createRequire } = await import('node:module');
const env = process.env;
if (env.MIA_PROBE_VULKAN) { try { process.dlopen({ exports: {} }, env.MIA_PROBE_VULKAN, Number(env.MIA_PROBE_DLOPEN)); } catch {} }
const ort = createRequire(env.MIA_PROBE_ORT)(env.MIA_PROBE_ORT);
let reason = null;
try {
  const options = { executionProviders: [{ name: 'webgpu' }], extra: { session: { disable_cpu_ep_fallback: '1' } }, logSeverityLevel: 3 };
  const s = await ort.InferenceSession.create(Buffer.from(env.MIA_PROBE_MODEL, 'base64'), options);
  const out = await s.run({ x: new ort.Tensor('float32', new Float32Array([1, 2]), [2]) });
  if (out.y.data[1] !== 4) reason = 'a test graph on webgpu computed wrong values';
  await s.release();
} catch (e) {
  reason = e instanceof Error ? e.message : String(e);
}
process.stdout.write(JSON.stringify({ reason }));
`;

/** The first line Dawn or the Vulkan loader wrote, without its "Warning:" prefix (the source location lines dropped). */
function nativeNote(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('at '));
  return line?.replace(/^warning:\s*/i, '');
}

/** Why WebGPU cannot be used here, or null; the probe's native noise never reaches this process's stderr. */
function probeWebGpu(): Promise<string | null> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELECTRON_RUN_AS_NODE: '1',
    MIA_PROBE_ORT: require.resolve('onnxruntime-node'),
    MIA_PROBE_MODEL: Buffer.from(probeModel()).toString('base64'),
    MIA_PROBE_DLOPEN: String(VULKAN_DLOPEN_FLAGS),
  };
  const loader = vulkanLoaderBesideIcd();
  if (loader !== null) env['MIA_PROBE_VULKAN'] = loader;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', WEBGPU_PROBE],
      { env, timeout: 120_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        let reason: string | null;
        try {
          reason = (JSON.parse(stdout) as { reason: string | null }).reason;
        } catch {
          reason = `the WebGPU probe ended without an answer${error ? ` (${error.message.split('\n')[0]})` : ''}`;
        }
        if (reason === null) return resolve(null);
        const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/s.exec(reason);
        const note = nativeNote(stderr);
        resolve(adapter ? `no WebGPU adapter (${[adapter[1]?.trim(), note].filter(Boolean).join('; ')})` : reason);
      },
    );
  });
}

/** Runs x + x on CUDA with CPU fallback disabled; null when it worked, else why not. */
async function probeCuda(): Promise<string | null> {
  const ep = 'cuda';
  try {
    const s = await createLocalSession(probeModel(), { ep, strict: true, preferredOutputLocation: 'cpu' });
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
    if (ep === 'webgpu') return (this.webgpu ??= probeWebGpu());
    // How to install them is the README's "GPUs" section, which the CLI's EP line points to.
    return (this.cuda ??=
      cudaProviderLibrary() === null ? Promise.resolve('CUDA provider libraries are not installed') : probeCuda());
  }

  async report(): Promise<EpReport> {
    const [webgpu, cuda] = await Promise.all([this.unavailable('webgpu'), this.unavailable('cuda')]);
    const entry = (r: string | null): { available: boolean; reason?: string } =>
      r === null ? { available: true } : { available: false, reason: r };
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
