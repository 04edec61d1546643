// float <-> f16/bf16 bit conversions against PyTorch (an independent oracle),
// including ties, subnormals, overflow and infinities.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32 } from '../../../../electron/engine/weights/decode';
import { floatToBf16, floatToHalf } from '../../../../electron/engine/weights/float16';

const python = process.env['MIA_PYTHON'] ?? '/usr/bin/python3';

function randomFloats(n: number): number[] {
  const out = [
    0,
    -0,
    1,
    -1,
    65504,
    65520,
    1e-8,
    6e-8,
    5.96e-8,
    3e-5,
    1e38,
    -3.4e38,
    Infinity,
    -Infinity,
    1 + 2 ** -8,
    1 + 3 * 2 ** -9,
    2049,
    2051,
  ];
  let s = 12345;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < n; i++) out.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12 - 6));
  return Array.from(Float32Array.from(out));
}

describe('float16 / bfloat16 conversion', () => {
  it('matches torch bit for bit', () => {
    // Sent as float32 bit patterns so -0 and infinities survive the trip.
    const xs = randomFloats(2000);
    const script = `
import sys, json, torch
xs = torch.tensor(json.loads(sys.stdin.read()), dtype=torch.int32).view(torch.float32)
h = xs.to(torch.float16).view(torch.int16).to(torch.int32) & 0xffff
b = xs.to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xffff
print(json.dumps({"h": h.tolist(), "b": b.tolist()}))`;
    const ref = JSON.parse(
      execFileSync(python, ['-c', script], {
        input: JSON.stringify(Array.from(new Int32Array(Float32Array.from(xs).buffer))),
      }).toString(),
    ) as { h: number[]; b: number[] };
    expect(xs.map(floatToHalf)).toEqual(ref.h);
    expect(xs.map(floatToBf16)).toEqual(ref.b);
  });

  it('rounds halfway cases to even and saturates past the largest half', () => {
    expect(floatToBf16(1)).toBe(0x3f80);
    expect(floatToBf16(-2.5)).toBe(0xc020);
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(-0.5)).toBe(0xb800);
  });

  it('decodes what it encodes for representable values', () => {
    const vals = [0, 1, -2.5, 0.375, 1024, -49152];
    expect(Array.from(toFloat32('F16', fromFloat32('F16', vals)))).toEqual(vals);
    expect(Array.from(toFloat32('BF16', fromFloat32('BF16', vals)))).toEqual(vals);
    expect(Array.from(toFloat32('F32', fromFloat32('F32', vals)))).toEqual(vals);
  });
});
