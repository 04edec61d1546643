// How a pair's images become URLs: composites are served below the images
// route (`/images/`, `app://images/`) at `composite/<augmentedId>`, project
// images by the thumbnail route. Kept free of zod so the preload can import it.
import type { ApiClient } from '../api/client';
import type { ThumbnailSize } from '../api/domain';

export const COMPOSITE_SEGMENT = 'composite/';

/** A pair image reference (`PairView.images[i]`) as a URL the UI can load; `size` applies to project images. */
export function pairImageUrl(
  client: Pick<ApiClient, 'imageUrl' | 'compositeUrl'>,
  ref: { kind: 'image' | 'composite'; id: number },
  size: ThumbnailSize,
): string {
  return ref.kind === 'image' ? client.imageUrl(ref.id, size) : client.compositeUrl(ref.id);
}
