// float16 / bfloat16 <-> number conversions, the one implementation: tensor
// bytes (./decode.ts) and ONNX initializers (../onnx/graph.ts) both use it.
// Rounding is to nearest even, as torch's and ORT's casts do.

// Scratch views shared by every call: the conversions are hot (whole tensors).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits -> number (the high half of a float32). */
export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** number -> bfloat16 bits (NaN kept quiet). */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if (Number.isNaN(x)) return 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** number -> IEEE half bits. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    return sign | ((m + half - 1 + ((m >>> shift) & 1)) >>> shift);
  }
  // A carry out of the mantissa rounds up into the exponent (and to infinity past 65504), which the addition does by itself.
  return (sign | (e << 10)) + ((mant + 0xfff + ((mant >>> 13) & 1)) >>> 13);
}
