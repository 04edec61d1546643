// Property tests: random tensors survive writer -> reader byte for byte, and
// the reader fails on arbitrary or damaged bytes only with its typed error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SAFETENSORS_DTYPES, type SafetensorsDType } from '../../../../electron/engine/weights/dtypes';
import { SafetensorsError } from '../../../../electron/engine/weights/errors';
import { headerLength, parseHeader } from '../../../../electron/engine/weights/header';
import { SafetensorsFile } from '../../../../electron/engine/weights/reader';
import { serializeSafetensors, type TensorsToWrite } from '../../../../electron/engine/weights/writer';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'st-prop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const dtypes = Object.keys(SAFETENSORS_DTYPES) as SafetensorsDType[];

const tensorArb = fc
  .record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }) })
  .chain(({ dtype, shape }) => {
    const n = shape.reduce((a, b) => a * b, 1) * SAFETENSORS_DTYPES[dtype].bytes;
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data) => ({ dtype, shape, data }));
  });

const tensorsArb = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__metadata__'),
  tensorArb,
  { maxKeys: 6 },
);
const metadataArb = fc.option(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }),
  { nil: undefined },
);

/** The whole reader pipeline on in-memory bytes. */
function parseBytes(bytes: Uint8Array): ReturnType<typeof parseHeader> {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, 'mem.safetensors');
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length, 'mem.safetensors');
}

function onlyTypedErrors(bytes: Uint8Array): void {
  try {
    parseBytes(bytes);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
  }
}

describe('safetensors properties', () => {
  it('writer -> reader round-trips random tensors and metadata (through a file)', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(tensorsArb, metadataArb, async (tensors: TensorsToWrite, metadata) => {
        const bytes = serializeSafetensors(tensors, metadata);
        const p = path.join(tmp, `rt${i++}.safetensors`);
        writeFileSync(p, bytes);
        const f = await SafetensorsFile.open(p);
        try {
          expect((bytes.length - f.tensors.reduce((s, t) => s + t.byteLength, 0)) % 8).toBe(0);
          expect(f.tensors.map((t) => t.name).sort()).toEqual(Object.keys(tensors).sort());
          expect(f.metadata).toEqual(metadata && Object.keys(metadata).length > 0 ? metadata : {});
          for (const [name, t] of Object.entries(tensors)) {
            const e = f.entry(name);
            expect([e.dtype, e.shape]).toEqual([t.dtype, t.shape]);
            expect(await f.read(name)).toEqual(t.data);
          }
        } finally {
          await f.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('random bytes raise nothing but SafetensorsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => onlyTypedErrors(b)),
      { numRuns: 2000 },
    );
  });

  it('random bytes behind a plausible length raise nothing but SafetensorsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(300), (body, n) => {
        const b = new Uint8Array(8 + body.length);
        new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
        b.set(body, 8);
        onlyTypedErrors(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('damaged valid files (byte flips, truncation) raise nothing but SafetensorsError', () => {
    fc.assert(
      fc.property(
        tensorsArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (tensors, flips, cut) => {
          const bytes = serializeSafetensors(tensors);
          for (const [at, v] of flips) bytes[at % bytes.length] = v;
          onlyTypedErrors(bytes.subarray(0, bytes.length - (cut % 4 === 0 ? cut % bytes.length : 0)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('random JSON headers raise nothing but SafetensorsError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(64), (json, extra) => {
        const text = new TextEncoder().encode(JSON.stringify(json) ?? '');
        const b = new Uint8Array(8 + text.length + extra);
        new DataView(b.buffer).setBigUint64(0, BigInt(text.length), true);
        b.set(text, 8);
        onlyTypedErrors(b);
      }),
      { numRuns: 1000 },
    );
  });

  it('valid headers with one field made wrong: a typed error, or tensors that tile the data section exactly', () => {
    const wrongArb = fc.record({
      field: fc.constantFrom('dtype', 'shape', 'data_offsets'),
      value: fc.constantFrom(
        'f32',
        '',
        -1,
        null,
        [-1],
        [0.5, 2],
        [2 ** 53],
        ['2'],
        [0],
        [0, 1, 2],
        [4, 0],
        [0, 2 ** 60],
        [1, 9],
        [0, 0],
      ),
    });
    const headerArb = fc.record({
      tensors: fc.array(fc.tuple(fc.constantFrom(...dtypes), fc.array(fc.nat(3), { maxLength: 2 })), {
        minLength: 1,
        maxLength: 4,
      }),
      wrong: fc.option(fc.tuple(fc.nat(), wrongArb), { nil: undefined }),
      slack: fc.integer({ min: -4, max: 4 }),
    });
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(headerArb, ({ tensors, wrong, slack }) => {
        const header: Record<string, Record<string, unknown>> = {};
        let end = 0;
        tensors.forEach(([dtype, shape], i) => {
          const n = shape.reduce((x, d) => x * d, 1) * SAFETENSORS_DTYPES[dtype].bytes;
          header[`t${i}`] = { dtype, shape, data_offsets: [end, end + n] };
          end += n;
        });
        if (wrong) header[`t${wrong[0] % tensors.length}`]![wrong[1].field] = wrong[1].value;
        const text = new TextEncoder().encode(JSON.stringify(header));
        const b = new Uint8Array(8 + text.length + Math.max(0, end + slack));
        new DataView(b.buffer).setBigUint64(0, BigInt(text.length), true);
        b.set(text, 8);
        let parsed: ReturnType<typeof parseHeader>;
        try {
          parsed = parseBytes(b);
        } catch (e) {
          if (!(e instanceof SafetensorsError)) throw e;
          refused++;
          return;
        }
        accepted++;
        // Accepted: the tensors follow each other from the data start, each as long as its shape and dtype say.
        let at = parsed.dataStart;
        for (const t of parsed.tensors) {
          expect(t.offset).toBe(at);
          expect(t.byteLength).toBe(t.shape.reduce((x, d) => x * d, 1) * SAFETENSORS_DTYPES[t.dtype].bytes);
          at += t.byteLength;
        }
        expect(at).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 2000 },
    );
    // Both sides of the property were exercised.
    expect(accepted).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
  });
});
