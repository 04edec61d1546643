// Execution-provider detection and choice, run inside the session worker.
// A provider counts as available only when a tiny session really runs on it
// without CPU fallback: WebGPU without an adapter fails only at session
// creation, and CUDA needs provider libraries the npm package does not ship
// by default. The WebGPU probe runs in a child process: Dawn writes the
// Vulkan loader's complaints straight to the process's stderr, which is
// captured there and turned into one line of the reason. Each GPU probe also
// runs the same graph in float16: whether the device computes in fp16 (WebGPU
// needs the adapter feature shader-f16) decides the fp16 weight format.
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

/** The probe graph: y = x + x, in float32 or float16. */
function probeModel(dtype: 'float32' | 'float16' = 'float32'): Uint8Array {
  const g = new Graph('probe');
  const x = g.input('x', dtype, [2]);
  g.output(add(x, x), 'y');
  return serializeModel(g);
}

/** fp16 1 and 2 as bits (the Node binding's float16 data is a Uint16Array); x + x gives 2 and 4 (0x4000, 0x4400). */
const HALF_ONE_TWO = [0x3c00, 0x4000];
const HALF_FOUR = 0x4400;

/** Why `ep` does not compute in fp16 (null: it does). */
export interface ProbeResult {
  reason: string | null;
  fp16: string | null;
}

/** The CPU EP's fp16: onnxruntime runs it through fp32 casts it inserts, with fp32 copies of the weights. */
export const CPU_FP16 =
  'the cpu execution provider has no fp16 kernels: onnxruntime computes fp16 through fp32 casts, with fp32 copies of the weights';

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
const options = { executionProviders: [{ name: 'webgpu' }], extra: { session: { disable_cpu_ep_fallback: '1' } }, logSeverityLevel: 3 };
const attempt = async (model, x, four) => {
  try {
    const s = await ort.InferenceSession.create(Buffer.from(model, 'base64'), options);
    const out = await s.run({ x });
    await s.release();
    return out.y.data[1] === four ? null : 'a test graph on webgpu computed wrong values';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
};
const reason = await attempt(env.MIA_PROBE_MODEL, new ort.Tensor('float32', new Float32Array([1, 2]), [2]), 4);
const fp16 = reason !== null ? reason : await attempt(env.MIA_PROBE_MODEL16, new ort.Tensor('float16', new Uint16Array(${JSON.stringify(HALF_ONE_TWO)}), [2]), ${HALF_FOUR});
process.stdout.write(JSON.stringify({ reason, fp16 }));
`;

/** The first line Dawn or the Vulkan loader wrote, without its "Warning:" prefix (the source location lines dropped). */
function nativeNote(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('at '));
  return line?.replace(/^warning:\s*/i, '');
}

/** Why WebGPU (and its fp16) cannot be used here, or null; the probe's native noise never reaches this process's stderr. */
function probeWebGpu(): Promise<ProbeResult> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ELECTRON_RUN_AS_NODE: '1',
    MIA_PROBE_ORT: require.resolve('onnxruntime-node'),
    MIA_PROBE_MODEL: Buffer.from(probeModel()).toString('base64'),
    MIA_PROBE_MODEL16: Buffer.from(probeModel('float16')).toString('base64'),
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
        let answer: ProbeResult;
        try {
          answer = JSON.parse(stdout) as ProbeResult;
        } catch {
          const reason = `the WebGPU probe ended without an answer${error ? ` (${error.message.split('\n')[0]})` : ''}`;
          answer = { reason, fp16: reason };
        }
        if (answer.reason === null)
          return resolve({
            reason: null,
            fp16:
              answer.fp16 !== null && /requires f16 but the device does not support it/.test(answer.fp16)
                ? 'the WebGPU adapter has no shader-f16 feature'
                : answer.fp16,
          });
        const adapter = /Failed to get a WebGPU adapter:?\s*(.*)$/s.exec(answer.reason);
        const note = nativeNote(stderr);
        const reason = adapter
          ? `no WebGPU adapter (${[adapter[1]?.trim(), note].filter(Boolean).join('; ')})`
          : answer.reason;
        resolve({ reason, fp16: reason });
      },
    );
  });
}

/** Runs x + x on CUDA with CPU fallback disabled, in float32 then float16; null when it worked, else why not. */
async function probeCuda(): Promise<ProbeResult> {
  const ep = 'cuda';
  const attempt = async (dtype: 'float32' | 'float16'): Promise<string | null> => {
    try {
      const s = await createLocalSession(probeModel(dtype), { ep, strict: true, preferredOutputLocation: 'cpu' });
      try {
        const x =
          dtype === 'float32'
            ? new ort.Tensor('float32', new Float32Array([1, 2]), [2])
            : new ort.Tensor('float16', new Uint16Array(HALF_ONE_TWO), [2]);
        const y = (await s.run({ x }))['y']?.data as Float32Array | Uint16Array | undefined;
        return y?.[1] === (dtype === 'float32' ? 4 : HALF_FOUR) ? null : `a test graph on ${ep} computed wrong values`;
      } finally {
        await s.release();
      }
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  };
  const reason = await attempt('float32');
  return { reason, fp16: reason ?? (await attempt('float16')) };
}

export class EpDetector {
  private webgpu: Promise<ProbeResult> | undefined;
  private cuda: Promise<ProbeResult> | undefined;

  private probe(ep: ExplicitEp): Promise<ProbeResult> {
    if (ep === 'cpu') return Promise.resolve({ reason: null, fp16: CPU_FP16 });
    if (ep === 'webgpu') return (this.webgpu ??= probeWebGpu());
    // How to install them is the README's "GPUs" section, which the CLI's EP line points to.
    const missing = 'CUDA provider libraries are not installed';
    return (this.cuda ??=
      cudaProviderLibrary() === null ? Promise.resolve({ reason: missing, fp16: missing }) : probeCuda());
  }

  /** Why `ep` cannot be used here, or null when it can (probed once per worker). */
  async unavailable(ep: ExplicitEp): Promise<string | null> {
    return (await this.probe(ep)).reason;
  }

  async report(): Promise<EpReport> {
    const [webgpu, cuda] = await Promise.all([this.probe('webgpu'), this.probe('cuda')]);
    const entry = (r: ProbeResult): EpReport['webgpu'] =>
      r.reason !== null
        ? { available: false, reason: r.reason, fp16: false }
        : r.fp16 === null
          ? { available: true, fp16: true }
          : { available: true, fp16: false, fp16Reason: r.fp16 };
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
