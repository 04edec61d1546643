// Streams the entries of a LLaVA file without loading it: a JSON array through
// stream-json (one element assembled at a time) or JSONL line by line. Memory
// stays bounded by the largest entry, whatever the file size.
import { createReadStream, type ReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import streamArray from 'stream-json/streamers/stream-array.js';

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
    const head = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').trimStart();
    return head.startsWith('[') ? 'json' : 'jsonl';
  } finally {
    await fh.close();
  }
}

async function* jsonArray(file: string, skip: number): AsyncGenerator<RawEntry> {
  const source: ReadStream = createReadStream(file, { highWaterMark: 1 << 20 });
  const elements = streamArray.withParserAsStream();
  pipeline(source, elements, () => undefined);
  let index = 0;
  try {
    for await (const item of elements as AsyncIterable<{ key: number; value: unknown }>) {
      index = item.key + 1;
      if (item.key >= skip) yield { index: item.key, line: null, value: item.value, bytesRead: source.bytesRead };
    }
  } catch (e) {
    yield { index, line: null, fatal: `the file is not valid JSON after entry ${index}: ${(e as Error).message}`, bytesRead: source.bytesRead };
  } finally {
    source.destroy();
    elements.destroy();
  }
}

async function* jsonLines(file: string, skip: number): AsyncGenerator<RawEntry> {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let lineNo = 0;
  let index = 0;
  try {
    for await (const text of lines) {
      lineNo++;
      if (text.trim() === '') continue;
      const at = index++;
      if (at < skip) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        const problem = `line ${lineNo} is not valid JSON: ${(e as Error).message}`;
        // A first line that is not JSON means the file is not JSON Lines at all (e.g. a pretty-printed object).
        if (at === 0) {
          yield { index: at, line: lineNo, fatal: `neither a JSON array nor JSON Lines: ${problem}`, bytesRead: source.bytesRead };
          return;
        }
        yield { index: at, line: lineNo, malformed: problem, bytesRead: source.bytesRead };
        continue;
      }
      yield { index: at, line: lineNo, value, bytesRead: source.bytesRead };
    }
  } finally {
    lines.close();
    source.destroy();
  }
}

/** Entries from `skip` on (a resumed import skips what it already staged). */
export function readLlavaEntries(file: string, format: LlavaFormat, skip = 0): AsyncGenerator<RawEntry> {
  return format === 'json' ? jsonArray(file, skip) : jsonLines(file, skip);
}
