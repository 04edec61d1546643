// Runs a PyTorch reference script (test/reference/*.py) into a temporary
// folder and loads the float32 tensors it wrote (manifest.json + NAME.f32).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RefTensor {
  dims: number[];
  data: Float32Array;
}

const here = path.dirname(fileURLToPath(import.meta.url));

export function runReference(
  script: string,
  args: readonly string[] = [],
): { config: Record<string, unknown>; tensors: Map<string, RefTensor> } {
  const out = mkdtempSync(path.join(os.tmpdir(), 'ref-'));
  const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
  execFileSync(python, [path.join(here, '..', 'reference', script), out, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as {
    config: Record<string, unknown>;
    tensors: Record<string, number[]>;
  };
  const tensors = new Map<string, RefTensor>();
  for (const [name, dims] of Object.entries(manifest.tensors)) {
    const buf = readFileSync(path.join(out, `${name}.f32`));
    tensors.set(name, { dims, data: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4) });
  }
  return { config: manifest.config, tensors };
}

/** Max |a - ref| relative to max |ref|: the tensor-wise relative error used against float64 oracles. */
export function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) throw new Error(`length ${a.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - ref[i]!));
    den = Math.max(den, Math.abs(ref[i]!));
  }
  return Number.isNaN(num) ? Infinity : num / den;
}
