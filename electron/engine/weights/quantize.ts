// Weight-only quantization with per-block scales, the math alone: a float
// matrix [rows, cols] in HF's [out, in] layout becomes signed integer codes and
// one float32 scale per `block` consecutive weights of a row (llama.cpp's
// Q8_0/Q4_0 rule: the scale maps the block's largest-magnitude weight to the
// most negative code, so codes use the full range -2^(b-1) .. 2^(b-1)-1 with
// no zero point). The graph side is blocked DequantizeLinear (decision 0650).
import { AppError } from '../../../shared/errors';

export const QUANT_BITS = [8, 4] as const;
export type QuantBits = (typeof QUANT_BITS)[number];
export const QUANT_BLOCKS = [32, 128] as const;
export type QuantBlock = (typeof QUANT_BLOCKS)[number];

export interface QuantizedMatrix {
  rows: number;
  cols: number;
  bits: QuantBits;
  block: number;
  /** int8: one signed byte per weight; int4: two per byte, the even column in the low nibble (ONNX INT4 packing). */
  codes: Uint8Array;
  /** [rows, cols / block] float32. */
  scales: Float32Array;
}

/** Bytes of the codes of a [rows, cols] matrix. */
export function codeBytes(rows: number, cols: number, bits: QuantBits): number {
  return bits === 8 ? rows * cols : Math.ceil((rows * cols) / 2);
}

/** Quantizes `w` [rows, cols] (row-major); `cols` must be a multiple of `block`. */
export function quantizeMatrix(
  w: Float32Array,
  rows: number,
  cols: number,
  bits: QuantBits,
  block: number,
): QuantizedMatrix {
  if (w.length !== rows * cols || cols % block !== 0)
    throw new AppError('internal', `cannot quantize [${rows}, ${cols}] (${w.length} values) in blocks of ${block}`);
  const qmax = bits === 8 ? 128 : 8; // codes -qmax .. qmax-1
  const blocks = cols / block;
  const scales = new Float32Array(rows * blocks);
  const codes = new Uint8Array(codeBytes(rows, cols, bits));
  const row = new Int8Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let b = 0; b < blocks; b++) {
      let vmax = 0;
      for (let i = b * block; i < (b + 1) * block; i++)
        if (Math.abs(w[base + i]!) > Math.abs(vmax)) vmax = w[base + i]!;
      // The scale is stored as float32, and codes are computed from the stored value so dequantization is exact.
      const d = Math.fround(vmax / -qmax);
      scales[r * blocks + b] = d;
      const inv = d === 0 ? 0 : 1 / d;
      for (let i = b * block; i < (b + 1) * block; i++)
        row[i] = Math.max(-qmax, Math.min(qmax - 1, Math.round(w[base + i]! * inv)));
    }
    if (bits === 8) codes.set(new Uint8Array(row.buffer), base);
    else for (let i = 0; i < cols; i += 2) codes[(base + i) / 2] = (row[i]! & 15) | ((row[i + 1]! & 15) << 4);
  }
  return { rows, cols, bits, block, codes, scales };
}

/** The float matrix the codes stand for: what the graph's DequantizeLinear computes. */
export function dequantizeMatrix(q: QuantizedMatrix): Float32Array {
  const out = new Float32Array(q.rows * q.cols);
  const blocks = q.cols / q.block;
  for (let j = 0; j < out.length; j++) {
    const r = Math.floor(j / q.cols);
    const c = j % q.cols;
    let code: number;
    if (q.bits === 8) code = (q.codes[j]! << 24) >> 24;
    else code = ((j & 1 ? q.codes[j >> 1]! >> 4 : q.codes[j >> 1]!) << 28) >> 28;
    out[j] = code * q.scales[r * blocks + Math.floor(c / q.block)]!;
  }
  return out;
}
