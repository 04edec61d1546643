// How a pair's images become URLs: composites are served below the images
// route (`/images/`, `app://images/`) at `composite/<augmentedId>`, the images a
// perturbed generation's model saw at `seen/<generationId>/<index>`, project
// images by the thumbnail route. Kept free of zod so the preload can import it.
import type { ApiClient } from '../api/client';
import type { ThumbnailSize } from '../api/domain';

export const COMPOSITE_SEGMENT = 'composite/';
export const SEEN_SEGMENT = 'seen/';

/** A pair image reference (`PairView.images[i]`, or `seen[i]` of pipeline.pairs.get) as a URL the UI can load; `size` applies to project images. */
export function pairImageUrl(
  client: Pick<ApiClient, 'imageUrl' | 'compositeUrl' | 'seenUrl'>,
  ref: { kind: 'image' | 'composite'; id: number } | { kind: 'seen'; id: number; index: number },
  size: ThumbnailSize,
): string {
  if (ref.kind === 'seen') return client.seenUrl(ref.id, ref.index);
  return ref.kind === 'image' ? client.imageUrl(ref.id, size) : client.compositeUrl(ref.id);
}
