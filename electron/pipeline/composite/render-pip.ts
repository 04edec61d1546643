// Pic-in-pic composites (MIA-DPO.md): the target resized to 70% of the host's
// width or height (aspect kept, LANCZOS) and pasted centred on the host; PNG
// into the project cache with provenance.
import sharp from 'sharp';
import type { Geometry } from '../../../shared/pipeline/settings';
import type { CompositeProvenance, Rect } from '../../../shared/pipeline/types';
import { writeContentAddressed } from './cache-file';
import { pipInset } from './geometry';
import { imageSize, loadRaw, loadResized } from './load-image';
import type { CompositeRequest, CompositeImage } from './render-grid';
import { PNG_OPTIONS } from './render-grid';

export async function composePip(
  host: CompositeImage,
  inset: CompositeImage,
  g: Pick<Geometry, 'pipScale'>,
): Promise<{ png: Buffer; hostRect: Rect; insetRect: Rect }> {
  const base = await loadRaw(host.file);
  const rect = pipInset(base, await imageSize(inset.file), g);
  const small = await loadResized(inset.file, rect);
  const png = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } })
    .composite([
      { input: small.data, raw: { width: small.width, height: small.height, channels: 3 }, left: rect.x, top: rect.y },
    ])
    .png(PNG_OPTIONS)
    .toBuffer();
  return { png, hostRect: { x: 0, y: 0, width: base.width, height: base.height }, insetRect: rect };
}

/** `req.images` is [host, inset]; the inset is the target (index 2). */
export async function renderPip(
  req: CompositeRequest,
  g: Pick<Geometry, 'pipScale'>,
  cacheDir: string,
): Promise<{ path: string; provenance: CompositeProvenance }> {
  const [host, inset] = req.images;
  if (!host || !inset || req.images.length !== 2)
    throw new RangeError(`pic-in-pic needs exactly [host, inset], got ${req.images.length} image(s)`);
  const composite = await composePip(host, inset, g);
  const written = await writeContentAddressed(cacheDir, composite.png, 'png');
  return {
    path: written.path,
    provenance: {
      kind: 'pip',
      sourceSampleId: req.sourceSampleId,
      images: [host.id, inset.id],
      targetIndex: req.targetIndex,
      canvas: { width: composite.hostRect.width, height: composite.hostRect.height },
      tiles: [composite.hostRect, composite.insetRect],
      sha256: written.sha256,
    },
  };
}
