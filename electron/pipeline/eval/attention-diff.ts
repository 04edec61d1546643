// Attention-difference maps on request (issue 10, item 4): the models of two
// runs answer one benchmark item with the same prompt (greedy, run A's token
// budget) and their step-averaged attention at the attention layer is
// subtracted per image: B minus A (adapter minus base when A is the base run).
// Either family (model-session.ts): llava-hf's patch grid, or IXC2.5's
// global-view grid (side x side merged tokens, what selection reads) with the
// per-image means over each image's whole span (separators included).
import { AppError } from '../../../shared/errors';
import type { AttentionDiff } from '../../../shared/pipeline/eval';
import { openModelSession } from '../../engine/generate/model-session';
import type { EvalParams } from './eval-job';
import type { BenchItem } from './queries';

interface Side {
  params: EvalParams;
  layer: number;
}

async function attentionOf(side: Side, item: BenchItem, maxNewTokens: number) {
  const session = await openModelSession({
    modelDir: side.params.modelDir,
    ep: side.params.ep,
    aspect: side.params.aspect,
    template: side.params.template,
    attentionLayers: [side.layer],
    ...(side.params.adapter === undefined ? {} : { adapter: { dir: side.params.adapter } }),
  });
  try {
    const r = await session.respond({ prompt: item.prompt, images: item.imagePaths, maxNewTokens });
    return r.attention;
  } finally {
    await session.close();
  }
}

/** Both models' step-averaged maps per image and their difference B - A, on the item's prompt with A's token budget. */
export async function attentionDiff(item: BenchItem, a: Side, b: Side): Promise<AttentionDiff> {
  const maxNewTokens = a.params.maxNewTokens;
  const ma = await attentionOf(a, item, maxNewTokens);
  const mb = await attentionOf(b, item, maxNewTokens);
  const flat = (m: number[][]) => m.flat();
  const images = item.imageIds.map((imageId, i) => {
    const x = flat(ma.maps[i] ?? []);
    const y = flat(mb.maps[i] ?? []);
    if (x.length !== y.length)
      throw new AppError(
        'bad-input',
        `the two models' attention maps of image ${i + 1} differ in size (${x.length} and ${y.length}): not the same vision tower`,
        { subject: `item ${item.index}` },
      );
    const meanA = ma.per_image_mean[i] ?? NaN;
    const meanB = mb.per_image_mean[i] ?? NaN;
    return {
      imageId,
      mean_a: meanA,
      mean_b: meanB,
      mean_diff: meanB - meanA,
      map_a: x,
      map_b: y,
      diff: y.map((v, k) => v - x[k]!),
    };
  });
  const rows = ma.maps[0] ?? [];
  return { itemId: item.id, layer: ma.layer, side: rows.length > 1 ? rows.length : null, images };
}
