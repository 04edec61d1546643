// Property tests of the LLaVA reader (issue 13): random bytes, random JSON and
// mutated LLaVA entries, as a JSON array or JSON Lines, never make the reader
// or the entry parser throw, and an import of them through the service ends
// `done` or `failed` with a typed error naming the file, never an internal error.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { drawImages, llavaEntry } from '../../../electron/io/demo-dataset';
import { parseEntry } from '../../../electron/io/llava/entry';
import { detectFormat, readLlavaEntries } from '../../../electron/io/llava/read';
import { removeTempDirs, runImport, serviceWithProject, tempDir } from './helpers';

afterAll(removeTempDirs);

/** A LLaVA entry with random fields replaced, dropped or added. */
const entryArb = fc
  .tuple(
    fc.nat(50),
    fc.dictionary(fc.constantFrom('id', 'image', 'conversations', 'from', 'value', 'x'), fc.jsonValue(), {
      maxKeys: 3,
    }),
    fc.subarray(['id', 'image', 'conversations']),
  )
  .map(([i, patch, dropped]) => {
    const e: Record<string, unknown> = { ...llavaEntry(i, i % 3 === 0 ? null : 'img/0.jpg'), ...patch };
    for (const k of dropped) delete e[k];
    return e;
  });
const valueArb = fc.oneof(entryArb, fc.jsonValue());

/** File text: a JSON array or JSON Lines of random values, maybe cut short or with a random byte spliced in. */
const fileArb = fc
  .record({
    values: fc.array(valueArb, { maxLength: 8 }),
    lines: fc.boolean(),
    cut: fc.option(fc.nat(), { nil: undefined }),
    splice: fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: undefined }),
  })
  .map(({ values, lines, cut, splice }) => {
    let bytes = Buffer.from(lines ? values.map((v) => JSON.stringify(v)).join('\n') : JSON.stringify(values));
    if (cut !== undefined && bytes.length > 0) bytes = bytes.subarray(0, cut % bytes.length);
    if (splice !== undefined && bytes.length > 0) {
      bytes = Buffer.from(bytes);
      bytes[splice[0] % bytes.length] = splice[1];
    }
    return bytes;
  });

const anyFileArb = fc.oneof(
  fileArb,
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

describe('LLaVA reader properties', () => {
  it('parseEntry never throws: an entry is parsed or has a message', () => {
    fc.assert(
      fc.property(valueArb, (v) => {
        const r = parseEntry(v);
        if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it('the reader never throws on any file: entries in order, each a value, a malformed line or the one fatal end', async () => {
    const dir = tempDir('llava-fuzz-');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyFileArb, async (bytes) => {
        const file = path.join(dir, `f${n++}`);
        await writeFile(file, bytes);
        let last = -1;
        let fatal = false;
        for await (const e of readLlavaEntries(file, await detectFormat(file))) {
          expect(fatal).toBe(false);
          expect(e.index).toBeGreaterThan(last);
          expect(e.bytesRead).toBeLessThanOrEqual(bytes.length);
          last = e.index;
          fatal = 'fatal' in e;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('an import of any such file ends done or failed with a typed error, never internal', async () => {
    const { service, dir } = await serviceWithProject();
    const root = path.join(dir, 'images');
    await drawImages(path.join(root, 'img'), 1);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(anyFileArb, async (bytes) => {
        const file = path.join(dir, `d${n++}.json`);
        await writeFile(file, bytes);
        const { job } = await runImport(service, { kind: 'llava', file, imagesRoot: root });
        if (job.state === 'failed') {
          expect(job.error?.kind).not.toBe('internal');
          expect(job.error?.message).toContain(file);
        } else expect(job.state).toBe('done');
      }),
      { numRuns: 25 },
    );
    await service.close();
  }, 60_000);
});
