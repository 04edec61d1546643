// The images a perturbed generation's model saw, for the image routes' `seen/<generationId>/<index>`:
// re-rendered by the respond job's own generationImages from the generation's stored seed and noise
// (deterministic), never from a request path, and kept as PNG under the project's cache/seen/.
import { stat, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../../shared/errors';
import type { PerturbSettings } from '../../../shared/pipeline/settings';
import { sha256 } from '../composite/cache-file';
import { generationImages } from '../perturb/generation-images';
import type { SeenSettings } from '../store/columns';
import { compositeImage, type PipelineProject } from './handlers';

export const SEEN_DIR = path.join('cache', 'seen');

/** Only the recorded format's noise on: what the respond job applied to this sample. */
function perturbSettings(n: SeenSettings['perturbation']): PerturbSettings {
  return {
    grid: { enabled: n.format === 'grid', std: n.std, region: n.region, overflow: n.overflow },
    pip: { enabled: n.format === 'pip', std: n.std, overflow: n.overflow },
    sequence: { enabled: n.format === 'sequence', std: n.std, overflow: n.overflow },
  };
}

/** Image `index` (0-based, `<image>` order) of generation `generationId` as the model saw it. Unknown or clean generation, index out of range: not-found. */
export async function seenImage(
  p: PipelineProject,
  generationId: number,
  index: number,
): Promise<{ path: string; mime: 'image/png' }> {
  const source = Number.isSafeInteger(generationId) ? await p.store.call('seenSource', { generationId }) : null;
  if (source === null || !Number.isSafeInteger(index) || index < 0 || index >= source.sample.promptImages.length) {
    throw new AppError('not-found', `generation ${generationId} has no perturbed image ${index} in ${p.dir}`, {
      subject: `seen ${generationId}/${index}`,
    });
  }
  // A composite is read from this project's composites folder, as the composite route does: a moved project still renders.
  const promptImages =
    source.sample.format === 'sequence'
      ? source.sample.promptImages
      : [(await compositeImage(p, source.sample.id)).path];
  const key = sha256(
    Buffer.from(
      JSON.stringify({
        generationId,
        index,
        seed: source.seed,
        noise: source.perturbation,
        planId: source.sample.planId,
        promptImages,
      }),
    ),
  );
  const file = path.join(p.dir, SEEN_DIR, `${key}.png`);
  if (
    await stat(file).then(
      (s) => s.size > 0,
      () => false,
    )
  )
    return { path: file, mime: 'image/png' };
  const images = await generationImages({ ...source.sample, promptImages }, perturbSettings(source.perturbation), {
    perturb: true,
    seed: source.seed,
  });
  const image = images[index]!;
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, png);
  await rename(tmp, file);
  return { path: file, mime: 'image/png' };
}
