// Decoding a source image for compositing the way the Pillow reference does
// (`Image.open(p).convert('RGB')`): no EXIF auto-rotation, alpha dropped,
// sRGB, 8-bit. Errors name the file.
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { AppError } from '../../../shared/errors';
import { imageInput } from '../../io/fs-path';
import type { Size } from './geometry';

export interface RawImage extends Size {
  /** Interleaved RGB, 8 bits per channel. */
  data: Buffer;
}

async function rgb(file: string): Promise<Sharp> {
  return sharp(await imageInput(file), { failOn: 'error' })
    .removeAlpha()
    .toColourspace('srgb');
}

export async function imageSize(file: string): Promise<Size> {
  try {
    const meta = await sharp(await imageInput(file)).metadata();
    return { width: meta.width, height: meta.height };
  } catch (e) {
    throw new AppError('bad-file', `cannot read image ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      subject: file,
      cause: e,
    });
  }
}

/** The image resized (LANCZOS) to exactly `size`, as raw RGB. */
export async function loadResized(file: string, size: Size): Promise<RawImage> {
  try {
    const { data, info } = await (
      await rgb(file)
    )
      .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (e) {
    throw new AppError('bad-file', `cannot decode image ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      subject: file,
      cause: e,
    });
  }
}

/** The image at its own size, as raw RGB. */
export async function loadRaw(file: string): Promise<RawImage> {
  try {
    const { data, info } = await (await rgb(file)).raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (e) {
    throw new AppError('bad-file', `cannot decode image ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      subject: file,
      cause: e,
    });
  }
}
