// Execution-provider detection: with SwiftShader's Vulkan driver WebGPU is
// found and chosen by 'auto' (and reported without fp16: SwiftShader has no
// shader-f16); in a child process without VK_ICD_FILENAMES
// it is not, and the session falls back to CPU with the reason logged.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { EpState } from '../../../../electron/engine/runtime/protocol';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface ChildResult {
  ep: string;
  fallbackReason: string | null;
  report: { webgpu: EpState; cuda: EpState };
  logs: string[];
}

function runChild(env: NodeJS.ProcessEnv): ChildResult {
  const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), path.join(here, 'ep-child.ts')], {
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildResult;
}

/** A machine with a system Vulkan loader (a real GPU driver) may find an adapter without SwiftShader. */
function hasSystemVulkan(): boolean {
  try {
    return execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).includes('libvulkan.so.1');
  } catch {
    return false;
  }
}

describe('execution provider detection', () => {
  it('auto picks WebGPU when SwiftShader provides an adapter; CUDA reported missing with its reason', () => {
    const r = runChild({ ...process.env, VK_ICD_FILENAMES: SWIFTSHADER });
    // SwiftShader runs the float32 probe but refuses the float16 one.
    expect(r.report.webgpu).toEqual({
      available: true,
      fp16: false,
      fp16Reason: 'the WebGPU adapter has no shader-f16 feature',
    });
    expect(r.ep).toBe('webgpu');
    expect(r.fallbackReason).toBeNull();
    expect(r.report.cuda.available).toBe(false);
    expect(r.report.cuda.reason).toMatch(/CUDA/);
    expect(r.report.cuda.fp16).toBe(false);
  });

  it('without VK_ICD_FILENAMES auto falls back to CPU, says why and logs it', () => {
    const env = { ...process.env };
    delete env['VK_ICD_FILENAMES'];
    const r = runChild(env);
    // Only a real GPU driver with a system Vulkan loader may still offer an adapter.
    if (r.ep === 'webgpu') return expect(hasSystemVulkan()).toBe(true);
    expect(r.ep).toBe('cpu');
    expect(r.report.webgpu.available).toBe(false);
    expect(r.fallbackReason).toMatch(/webgpu: .*adapter/i);
    expect(r.logs.some((l) => l.startsWith('warn:') && l.includes('using cpu') && /adapter/i.test(l))).toBe(true);
  });
});
