// Turns raw tensor bytes into numbers for the few places that need values on
// the JS side (LoRA adapters, tests, exports); the model weights themselves
// never pass through here, they stay in the file as ONNX external data.
import { AppError } from '../../../shared/errors';
import type { SafetensorsDType } from './dtypes';

/** IEEE half -> float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float -> bfloat16 bits, rounding to nearest even (as torch and ORT's Cast do). */
export function floatToBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  if (Number.isNaN(x)) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float -> IEEE half bits, rounding to nearest even. */
export function floatToHalf(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && m & 1)) m += 1;
    return sign | m;
  }
  let m = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && m & 1)) {
    m += 1;
    if (m === 0x400) {
      m = 0;
      e += 1;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

/** Float tensor bytes (F32, F16, BF16, F64) as float32 values. */
export function toFloat32(dtype: SafetensorsDType, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
    case 'F64':
      return Float32Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
    case 'F16':
      return Float32Array.from({ length: bytes.byteLength / 2 }, (_, i) => halfToFloat(view.getUint16(i * 2, true)));
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < out.length; i++) u[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      throw new AppError('unsupported', `cannot read ${dtype} tensor data as floats`);
  }
}

/** float32 values as tensor bytes of a float dtype (F32, F16, BF16). */
export function fromFloat32(dtype: 'F32' | 'F16' | 'BF16', values: ArrayLike<number>): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(Float32Array.from(values).buffer);
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  const conv = dtype === 'F16' ? floatToHalf : floatToBf16;
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, conv(values[i] as number), true);
  return out;
}
