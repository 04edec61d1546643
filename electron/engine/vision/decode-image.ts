// Decodes an image file or buffer into 8-bit RGB pixels the way transformers'
// load_image + convert('RGB') sees them: EXIF orientation applied, alpha dropped
// (not blended), grey replicated, 16-bit samples reduced to their high byte,
// colour profiles ignored.

import { stat } from 'node:fs/promises';
import sharp from 'sharp';
import { AppError } from '../../../shared/errors';

/** Interleaved RGB, row-major: pixel (x, y) channel c at `(y * width + x) * 3 + c`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export type ImageInput = string | Buffer;

/** A name for error messages: the path, or `label` for buffers. */
export function inputName(input: ImageInput, label?: string): string {
  return typeof input === 'string' ? input : (label ?? 'image buffer');
}

export interface DecodeOptions {
  /** Names a buffer input in error messages. */
  label?: string;
  /**
   * Rotate by the EXIF orientation (default true, as transformers' load_image does);
   * false reads pixels as stored, as the original LLaVA and MIA-DPO code (`Image.open`) does.
   */
  applyExif?: boolean;
}

export async function decodeImage(input: ImageInput, options: DecodeOptions = {}): Promise<RgbImage> {
  const name = inputName(input, options.label);
  if (typeof input === 'string') await assertFile(input);
  try {
    // PIL ignores embedded ICC profiles, so sharp must too (ignoreIcc). The conversion
    // to sRGB then only replicates grey and keeps the high byte of 16-bit samples.
    const decoder = sharp(input, { failOn: 'error', ignoreIcc: true });
    const { data, info } = await (options.applyExif === false ? decoder : decoder.autoOrient())
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    throw new AppError('bad-file', `${name} cannot be read as an image: ${(e as Error).message}`, {
      subject: name,
      cause: e,
    });
  }
}

async function assertFile(path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new AppError('bad-input', `${path} is not an image file`, { subject: path });
  } catch (e) {
    if (e instanceof AppError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new AppError('not-found', `image ${path} does not exist`, { subject: path, cause: e });
    throw new AppError('bad-file', `image ${path} cannot be read: ${(e as Error).message}`, {
      subject: path,
      cause: e,
    });
  }
}
