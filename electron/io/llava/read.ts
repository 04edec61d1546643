// Streams the entries of a LLaVA file without loading it: a JSON array through
// stream-json (one element assembled at a time) or JSONL line by line. Memory
// stays bounded by the largest entry, whatever the file size.
import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import streamArray from 'stream-json/streamers/stream-array.js';
import { ElementEnds } from './element-ends';
import { invalidUtf8At, Utf8Check } from './utf8';

export type RawEntry =
  | { index: number; line: number | null; value: unknown; bytesRead: number }
  /** One JSONL line is not JSON; the following lines are still read. */
  | { index: number; line: number | null; malformed: string; bytesRead: number }
  /** The file itself broke (invalid JSON): no further entries can be read. */
  | { index: number; line: number | null; fatal: string; bytesRead: number };

export type LlavaFormat = 'json' | 'jsonl';

/** JSONL when the first non-blank character opens an object, a JSON array when it opens one. */
export async function detectFormat(file: string): Promise<LlavaFormat> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4096), 0, 4096, 0);
    const head = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .trimStart();
    return head.startsWith('[') ? 'json' : 'jsonl';
  } finally {
    await fh.close();
  }
}

async function* jsonArray(file: string, skip: number): AsyncGenerator<RawEntry> {
  const source: ReadStream = createReadStream(file, { highWaterMark: 1 << 20 });
  const elements = streamArray.withParserAsStream();
  const utf8 = new Utf8Check();
  const ends = new ElementEnds();
  pipeline(source, ends, utf8, elements, () => undefined);
  let index = 0;
  try {
    for await (const item of elements as AsyncIterable<{ key: number; value: unknown }>) {
      index = item.key + 1;
      // The bytes of the entries parsed so far, not what the stream read ahead.
      const bytesRead = ends.endOf(item.key) ?? ends.scanned;
      if (item.key >= skip) yield { index: item.key, line: null, value: item.value, bytesRead };
    }
  } catch (e) {
    yield {
      index,
      line: null,
      fatal: `the file is not valid ${utf8.problem === null ? 'JSON' : 'UTF-8'} after entry ${index}: ${utf8.problem ?? (e as Error).message}`,
      bytesRead: ends.scanned,
    };
  } finally {
    source.destroy();
    elements.destroy();
  }
}

/** The lines of a file as bytes, each with the file offset just past its newline (what has really been consumed). */
async function* byteLines(source: ReadStream): AsyncGenerator<{ bytes: Buffer; start: number; end: number }> {
  let carry = Buffer.alloc(0);
  let offset = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    let buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      yield { bytes: buf.subarray(0, nl), start: offset, end: offset + nl + 1 };
      offset += nl + 1;
      buf = buf.subarray(nl + 1);
    }
    carry = Buffer.from(buf);
  }
  if (carry.length > 0) yield { bytes: carry, start: offset, end: offset + carry.length };
}

async function* jsonLines(file: string, skip: number): AsyncGenerator<RawEntry> {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  let lineNo = 0;
  let index = 0;
  try {
    for await (const { bytes, start, end } of byteLines(source)) {
      lineNo++;
      const at = index;
      const bad = invalidUtf8At(bytes);
      let text = bad === -1 ? bytes.toString('utf8').replace(/\r$/, '') : '';
      if (lineNo === 1) text = text.replace(/^\uFEFF/, '');
      if (bad === -1 && text.trim() === '') continue;
      index++;
      if (at < skip) continue;
      let value: unknown;
      try {
        // Decoding would silently turn invalid bytes into U+FFFD: say where they are instead.
        if (bad !== -1) throw new Error(`invalid UTF-8 at byte offset ${start + bad} of the file`);
        value = JSON.parse(text);
      } catch (e) {
        const problem = `line ${lineNo} is not ${bad === -1 ? 'valid JSON' : 'valid UTF-8'}: ${(e as Error).message}`;
        // A first line that is not JSON means the file is not JSON Lines at all (e.g. a pretty-printed object).
        if (at === 0) {
          yield { index: at, line: lineNo, fatal: `neither a JSON array nor JSON Lines: ${problem}`, bytesRead: end };
          return;
        }
        yield { index: at, line: lineNo, malformed: problem, bytesRead: end };
        continue;
      }
      yield { index: at, line: lineNo, value, bytesRead: end };
    }
  } finally {
    source.destroy();
  }
}

/** Entries from `skip` on (a resumed import skips what it already staged). */
export function readLlavaEntries(file: string, format: LlavaFormat, skip = 0): AsyncGenerator<RawEntry> {
  return format === 'json' ? jsonArray(file, skip) : jsonLines(file, skip);
}
