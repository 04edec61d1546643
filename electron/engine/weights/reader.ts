// Opens one .safetensors file: validates its header, then reads tensor bytes
// lazily through the open file handle (never the whole file), so a 10 GB
// checkpoint costs only its header until a tensor is asked for.
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { SafetensorsError } from './errors';
import { headerLength, parseHeader, type TensorEntry } from './header';

export class SafetensorsFile {
  readonly path: string;
  readonly metadata: Record<string, string>;
  /** Sorted by offset, as stored. */
  readonly tensors: readonly TensorEntry[];
  private readonly byName: Map<string, TensorEntry>;
  private readonly handle: FileHandle;

  private constructor(filePath: string, handle: FileHandle, tensors: TensorEntry[], metadata: Record<string, string>) {
    this.path = filePath;
    this.handle = handle;
    this.tensors = tensors;
    this.metadata = metadata;
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** Opens and validates; throws SafetensorsError (bad-file) or AppError not-found. */
  static async open(filePath: string): Promise<SafetensorsFile> {
    let handle: FileHandle;
    try {
      handle = await open(filePath, 'r');
    } catch (e) {
      throw new AppError('not-found', `${filePath}: cannot open safetensors file (${(e as Error).message})`, {
        subject: filePath,
        cause: e,
      });
    }
    try {
      const size = (await handle.stat()).size;
      const first8 = await readExactly(handle, 0, Math.min(8, size), filePath);
      const n = headerLength(first8, size, filePath);
      const header = parseHeader(await readExactly(handle, 8, n, filePath), size, filePath);
      return new SafetensorsFile(filePath, handle, header.tensors, header.metadata);
    } catch (e) {
      await handle.close();
      if (e instanceof SafetensorsError) throw e;
      // e.g. EISDIR: the path exists but cannot be read as a file.
      throw new SafetensorsError('read', filePath, `cannot read the file (${(e as Error).message})`, e);
    }
  }

  /** The file name, as ONNX external data locations want it (relative to the folder). */
  get fileName(): string {
    return path.basename(this.path);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  entry(name: string): TensorEntry {
    const e = this.byName.get(name);
    if (!e) throw new SafetensorsError('tensor-missing', this.path, `no tensor named "${name}"`);
    return e;
  }

  /** The tensor's raw little-endian bytes (a fresh copy). */
  async read(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return readExactly(this.handle, e.offset, e.byteLength, this.path);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readExactly(handle: FileHandle, position: number, length: number, file: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0)
      throw new SafetensorsError(
        'read',
        file,
        `file ended at byte ${position + done}, expected ${length - done} more bytes`,
      );
    done += bytesRead;
  }
  return buf;
}
