// File names that are not valid UTF-8 (Linux names are bytes): a JS string
// cannot hold them, so decoding replaces the bad bytes with U+FFFD and the
// file is then "missing". Such a path is kept as its bytes (issue 13):
// - stored (database, messages) as `bytes:` + the path with every byte outside
//   printable ASCII, and `%`, written %XX; an absolute path never starts so;
// - handled inside the import as a "byte string" (one char per byte, latin1),
//   where path.resolve/relative/join work as on the bytes, since '/' is ASCII;
// - given to fs calls as a Buffer (fsPath), which Node passes through unchanged.
import { readFile } from 'node:fs/promises';

const PREFIX = 'bytes:';

const isUtf8 = (b: Buffer): boolean => Buffer.from(b.toString('utf8'), 'utf8').equals(b);

/** The stored form of a path given as bytes: the plain string when they are UTF-8. */
export function storedPath(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = PREFIX;
  for (const b of bytes)
    out +=
      b > 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

export const isBytePath = (stored: string): boolean => stored.startsWith(PREFIX);

/** The bytes of a stored `bytes:` path. */
function bytesOf(stored: string): Buffer {
  const text = stored.slice(PREFIX.length);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(text.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** What fs calls take for a stored path: the string itself, or the bytes of a `bytes:` path. */
export function fsPath(stored: string): string | Buffer {
  return isBytePath(stored) ? bytesOf(stored) : stored;
}

/** sharp's input for a stored path: the path, or the file's bytes (sharp takes a Buffer as data, not as a name). */
export async function imageInput(stored: string): Promise<string | Buffer> {
  return isBytePath(stored) ? readFile(bytesOf(stored)) : stored;
}

/**
 * The bytes a dataset's image path names when it carries raw bytes as lone surrogates U+DC80-U+DCFF
 * (Python's `surrogateescape`: how `json.dump` writes a name from `os.listdir` that is not UTF-8); null otherwise.
 */
export function surrogateEscapedBytes(s: string): Buffer | null {
  if (!/[\udc80-\udcff]/.test(s)) return null;
  const parts: Buffer[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    parts.push(c >= 0xdc80 && c <= 0xdcff ? Buffer.from([c - 0xdc00]) : Buffer.from(ch, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** A byte string (one char per byte) and back: path arithmetic on bytes with the string path module. */
export const byteString = (b: Buffer | string): string =>
  (typeof b === 'string' ? Buffer.from(b) : b).toString('latin1');
export const fromByteString = (s: string): Buffer => Buffer.from(s, 'latin1');
