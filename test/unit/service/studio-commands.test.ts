// The commands the studio's Pipeline and Dataset pages read, on a real project:
// `pipeline.overview` counts against the tables' own answers (stats, pairs,
// export), `pipeline.augmented` pages with composites by id, and `model.inspect`
// through the API as the CLI reports it.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { writeTinyLlava } from '../../helpers/tiny-llava';
import { removeTempDirs, runImport, serviceWithProject, waitFinal } from '../io/helpers';

afterAll(removeTempDirs);

describe('studio commands', () => {
  it('pipeline.overview and pipeline.augmented agree with the stats and the composites', async () => {
    const { service, dir } = await serviceWithProject();
    try {
      const empty = await service.handlers['pipeline.overview']({});
      expect(empty).toEqual({
        samples: 0,
        augmented: { total: 0, byFormat: { sequence: 0, grid: 0, pip: 0 } },
        generations: 0,
        decisions: { keep: 0, drop: 0, undecided: 0 },
        pairs: { total: 0, pending: 0, accepted: 0, rejected: 0 },
        exportable: 0,
      });
      const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 20, images: 16, bad: false });
      await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot });
      const job = await service.handlers['pipeline.augment']({ seed: 3, count: 30 });
      expect((await waitFinal(service, job.jobId)).state).toBe('done');

      const overview = await service.handlers['pipeline.overview']({});
      const stats = await service.handlers['pipeline.stats']({ bins: 5 });
      expect(overview.samples).toBe((await service.handlers['project.info']({})).project!.sampleCount);
      expect(overview.augmented.total).toBe(30);
      for (const f of ['sequence', 'grid', 'pip'] as const)
        expect(overview.augmented.byFormat[f]).toBe(
          stats.augmented.filter((a) => a.format === f).reduce((s, a) => s + a.count, 0),
        );
      expect(overview.generations).toBe(stats.generations);

      const all = await service.handlers['pipeline.augmented']({ offset: 0, limit: 500 });
      expect(all.total).toBe(30);
      expect(all.items.map((a) => a.id)).toEqual([...all.items.map((a) => a.id)].sort((a, b) => a - b));
      for (const a of all.items) {
        expect(a.imageIds).toHaveLength(a.imageCount);
        expect(a.prompt.split('<image>').length - 1).toBe(a.images.length);
        if (a.format === 'sequence') expect(a.images).toEqual(a.imageIds.map((id) => ({ kind: 'image', id })));
        else {
          expect(a.images).toEqual([{ kind: 'composite', id: a.id }]);
          // The composite route serves the id the page lists.
          expect((await service.getComposite(a.id)).mime).toBe('image/png');
        }
      }
      const grids = await service.handlers['pipeline.augmented']({ offset: 1, limit: 2, format: 'grid' });
      expect(grids.total).toBe(overview.augmented.byFormat.grid);
      expect(grids.items).toEqual(all.items.filter((a) => a.format === 'grid').slice(1, 3));
    } finally {
      await service.close();
    }
  });

  it('model.inspect describes a supported folder and explains a missing one without failing', async () => {
    const { service, dir } = await serviceWithProject();
    try {
      const model = await writeTinyLlava({ seed: 8, textLayers: 2 });
      const ok = await service.handlers['model.inspect']({ dir: model.dir });
      expect(ok).toMatchObject({
        supported: true,
        architecture: { text: 'llama', vision: 'clip_vision_model' },
        image_tokens_per_image: 16,
        default_attention_layer: 1,
      });
      const gone = path.join(dir, 'no-model');
      const no = await service.handlers['model.inspect']({ dir: gone });
      expect(no.supported).toBe(false);
      if (!no.supported) {
        expect(no.kind).toBe('not-found');
        expect(no.reason).toContain(gone);
      }
    } finally {
      await service.close();
    }
  });
});
