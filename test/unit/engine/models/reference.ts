// Runs the independent PyTorch reference (test/reference/llava_ref.py) on a
// model folder and a request, and returns its JSON outputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RefRequest {
  input_ids: number[];
  pixels?: { data: Float32Array; shape: number[] };
  steps?: number;
  attention_layers?: number[];
  include_prefill_row?: boolean;
  logits?: 'last' | 'all';
  score?: { prompt_ids: number[]; response_ids: number[] }[];
  adapter?: string;
  /** Gradients of sum(response log-probs) w.r.t. an unmerged adapter's A and B; `images` index the pixel batch. */
  lora_grad?: { adapter: string; rows: { prompt_ids: number[]; response_ids: number[]; images: number[] }[] };
}

export interface RefOutput {
  /** Raw float32 files of the reference, read back. */
  image_features?: Float32Array;
  image_features_shape?: number[];
  input_ids: number[];
  logits: Float32Array;
  vocab: number;
  tokens: number[];
  token_logprobs: number[];
  max_probs: number[];
  attention: Record<string, number[][]>;
  scores: number[][];
  lora_logprobs?: number[][];
  lora_grads?: Record<string, { A: number[]; B: number[] }>;
}

const PYTHON = process.env.MIA_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.resolve(import.meta.dirname, '../../../reference/llava_ref.py');

export function runReference(modelDir: string, req: RefRequest): RefOutput {
  const dir = mkdtempSync(path.join(tmpdir(), 'llava-ref-'));
  const { pixels, ...rest } = req;
  const json: Record<string, unknown> = { ...rest };
  if (pixels) {
    writeFileSync(
      path.join(dir, 'pixels.f32'),
      new Uint8Array(pixels.data.buffer, pixels.data.byteOffset, pixels.data.byteLength),
    );
    json['pixel_values_raw'] = path.join(dir, 'pixels.f32');
    json['pixel_shape'] = pixels.shape;
  }
  writeFileSync(path.join(dir, 'req.json'), JSON.stringify(json));
  execFileSync(PYTHON, [SCRIPT, modelDir, path.join(dir, 'req.json'), path.join(dir, 'out.json')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const out = path.join(dir, 'out.json');
  const f32 = (file: string): Float32Array => {
    const b = readFileSync(file);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const parsed = JSON.parse(readFileSync(out, 'utf8')) as Omit<RefOutput, 'logits' | 'image_features'>;
  return {
    ...parsed,
    logits: f32(`${out}.logits.f32`),
    ...(existsSync(`${out}.features.f32`) ? { image_features: f32(`${out}.features.f32`) } : {}),
  };
}
