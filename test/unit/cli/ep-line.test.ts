// The one line about the execution provider (issue 12 item 13): through the
// real command (bin/mia-dpo.mjs in a child process, so native writes to the
// process's stderr count too), `--ep auto` prints exactly one line saying which
// EP runs and why, and no raw Vulkan loader / Dawn warning.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { epLine } from '../../../electron/cli/ep-line';
import { writeTinyLlava } from '../../helpers/tiny-llava';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'mia-dpo.mjs');
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

let model: string;
let image: string;
beforeAll(async () => {
  model = (await writeTinyLlava({ seed: 3, textLayers: 2, visionLayers: 2 })).dir;
  image = path.join(mkdtempSync(path.join(tmpdir(), 'ep-line-')), 'a.png');
  await sharp(Buffer.alloc(28 * 28 * 3, 120), { raw: { width: 28, height: 28, channels: 3 } })
    .png()
    .toFile(image);
});

/** stderr lines of `mia-dpo generate ... --ep auto` with `env`. */
function generateStderr(env: NodeJS.ProcessEnv): string[] {
  const args = [
    BIN,
    'generate',
    '--model',
    model,
    '--image',
    image,
    '--prompt',
    'hi',
    '--max-new-tokens',
    '2',
    '--ep',
    'auto',
  ];
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr.split('\n').filter((l) => l !== '');
}

describe('the execution provider line', () => {
  it('says which EP runs and why, pointing at the README for the setup', () => {
    expect(epLine('cpu', { ep: 'cpu' })).toBe('execution provider: cpu (as asked)\n');
    expect(epLine('auto', { ep: 'webgpu' })).toBe('execution provider: webgpu (auto: a WebGPU adapter was found)\n');
    expect(epLine('auto', { ep: 'cpu', fallbackReason: 'webgpu: no WebGPU adapter' })).toBe(
      'execution provider: cpu (auto found no GPU: webgpu: no WebGPU adapter; see README "GPUs")\n',
    );
    expect(epLine('cuda', { ep: 'cpu', fallbackReason: 'cuda: CUDA provider libraries are not installed' })).toMatch(
      /^execution provider: cpu \(cuda unavailable: /,
    );
  });

  it('without a Vulkan driver: exactly one line about the EP on stderr, no loader warning', () => {
    const env = { ...process.env };
    delete env['VK_ICD_FILENAMES'];
    const lines = generateStderr(env);
    // The EP line, the weight format line, then generate's attention summary: nothing else (no "Warning: Couldn't
    // load Vulkan", no Dawn source line).
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^execution provider: (cpu|webgpu|cuda) \(/);
    expect(lines[1]).toMatch(/^weights: fp32: /);
    expect(lines[2]).toMatch(/^attention \(layer 1\)/);
    // On a machine without a GPU: the reason, in one line, with the README pointer.
    if (lines[0]!.startsWith('execution provider: cpu'))
      expect(lines[0]).toMatch(/webgpu: no WebGPU adapter .*; see README "GPUs"\)$/);
  }, 180_000);

  it("with SwiftShader standing in for a GPU driver (the README's tip): WebGPU, one line", () => {
    const lines = generateStderr({ ...process.env, VK_ICD_FILENAMES: SWIFTSHADER });
    expect(lines).toEqual([
      expect.stringMatching(/^execution provider: webgpu \(auto: a WebGPU adapter was found\)$/),
      expect.stringMatching(
        /^weights: fp32: webgpu cannot compute in fp16 \(the WebGPU adapter has no shader-f16 feature\), /,
      ),
      expect.stringMatching(/^attention /),
    ]);
  }, 180_000);
});
