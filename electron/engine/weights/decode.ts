// Turns raw tensor bytes into numbers for the few places that need values on
// the JS side (LoRA adapters, tests, exports); the model weights themselves
// never pass through here, they stay in the file as ONNX external data.
import { AppError } from '../../../shared/errors';
import type { SafetensorsDType } from './dtypes';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from './float16';

/** Typed arrays read the host's byte order; files are little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Every float16 bit pattern's value, built on first use (256 KiB): decoding is one lookup per value. */
let halfTable: Float32Array | undefined;

/** Float tensor bytes (F32, F16, BF16, F64) as float32 values. */
export function toFloat32(dtype: SafetensorsDType, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      // A copy of the bytes (memcpy) where the host is little-endian, as every platform Node ships on is.
      if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer, 0, bytes.byteLength / 4);
      return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
    case 'F64':
      return Float32Array.from({ length: bytes.byteLength / 8 }, (_, i) => view.getFloat64(i * 8, true));
    case 'F16': {
      const table = (halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h)));
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = table[view.getUint16(i * 2, true)]!;
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let i = 0; i < out.length; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true));
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
