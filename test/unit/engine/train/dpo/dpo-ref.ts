// Runs the PyTorch DPO oracle (test/reference/dpo_ref.py) on a model folder and a request.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RefPair {
  prompt_ids: number[];
  chosen_ids: number[];
  rejected_ids: number[];
  images: number[];
  ref_chosen?: number;
  ref_rejected?: number;
}

export interface RefRun {
  adapter: string;
  beta: number;
  loss: string;
  label_smoothing: number;
  sft_weight: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  clip_norm: number | null;
  steps: { lr: number; micro: RefPair[][] }[];
}

export type RefMetrics = Record<
  'loss' | 'rewards_chosen' | 'rewards_rejected' | 'margin' | 'accuracy' | 'logp_chosen' | 'logp_rejected',
  number
> & { grad_norm?: number };

export interface DpoRefOutput {
  reference: [number, number][];
  runs: { steps: RefMetrics[]; final: Record<string, { A: number[]; B: number[] }> }[];
}

const PYTHON = process.env.MIA_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.resolve(import.meta.dirname, '../../../../reference/dpo_ref.py');

export function runDpoReference(
  modelDir: string,
  req: { pixels: { data: Float32Array; shape: number[] }; reference?: RefPair[]; runs?: RefRun[] },
): DpoRefOutput {
  const dir = mkdtempSync(path.join(tmpdir(), 'dpo-ref-'));
  const { pixels, ...rest } = req;
  writeFileSync(
    path.join(dir, 'pixels.f32'),
    new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength),
  );
  writeFileSync(
    path.join(dir, 'req.json'),
    JSON.stringify({ ...rest, pixel_values_raw: path.join(dir, 'pixels.f32'), pixel_shape: pixels.shape }),
  );
  execFileSync(PYTHON, [SCRIPT, modelDir, path.join(dir, 'req.json'), path.join(dir, 'out.json')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8')) as DpoRefOutput;
}
