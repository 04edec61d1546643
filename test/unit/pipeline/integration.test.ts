// The pipeline through the API on a real project: import -> augment (job) ->
// generations stored by the test (the model engine is not part of this
// issue yet) -> select (job) -> pairs with reasons -> review -> exports.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { llavaEntry, makeDemoDataset } from '../../../electron/io/demo-dataset';
import { computeMetrics } from '../../../electron/pipeline/select/metrics';
import type { AugmentedSample } from '../../../electron/pipeline/store/queries';
import { openProject } from '../../../electron/db';
import { runImport, serviceWithProject, waitFinal } from '../io/helpers';

async function augmented(projectDir: string): Promise<AugmentedSample[]> {
  const store = await openProject(projectDir);
  try {
    return await store.call('augmentedSamples', { offset: 0, limit: 10_000 });
  } finally {
    await store.close();
  }
}

describe('pipeline on a project', () => {
  it('augments reproducibly, selects with reasons, reviews and exports', async () => {
    const { service, dir } = await serviceWithProject();
    const projectDir = path.join(dir, 'project');
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 30, images: 24, bad: false });
    expect((await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot })).job.state).toBe(
      'done',
    );

    const first = await service.handlers['pipeline.augment']({ seed: 7, count: 40 });
    expect((await waitFinal(service, first.jobId)).state).toBe('done');
    const second = await service.handlers['pipeline.augment']({ seed: 7, count: 40 });
    expect((await waitFinal(service, second.jobId)).state).toBe('done');
    const stats0 = await service.handlers['pipeline.stats']({ bins: 10 });
    expect(stats0.augmented.reduce((s, a) => s + a.count, 0)).toBe(80);
    await service.handlers['project.close']({});

    const rows = await augmented(projectDir);
    const [runA, runB] = [rows.slice(0, 40), rows.slice(40)];
    const shape = (r: AugmentedSample) => [
      r.planId,
      r.format,
      r.imageIds,
      r.targetIndex,
      r.compositePath,
      r.prompt,
      r.groundTruth,
    ];
    expect(runB.map(shape)).toEqual(runA.map(shape));
    for (const r of runA) {
      expect(new Set(r.imageIds).size).toBe(r.imageIds.length);
      expect(r.prompt.split('<image>').length - 1).toBe(r.promptImages.length);
      if (r.format === 'sequence')
        expect(r.prompt).toMatch(new RegExp(`^Image1:<image>\\n[\\s\\S]*In Image${r.targetIndex}, what shape`));
      else expect(existsSync(r.compositePath!)).toBe(true);
      if (r.format === 'grid')
        expect(r.prompt).toBe(`<image>\nIn Image${r.targetIndex}, what shape is shown, and what colour is it?`);
    }

    // Generations as the respond job will store them: one confused (low ratio), one attentive, one identical.
    const store = await openProject(projectDir);
    const gens = [
      { sample: runA[0]!, response: 'A blue circle.', ratio: 0.1, maxProbs: [0.6, 0.7, 0.5] },
      { sample: runA[1]!, response: 'A green square.', ratio: 0.95, maxProbs: [0.6, 0.7, 0.5] },
      { sample: runA[2]!, response: runA[2]!.groundTruth, ratio: 0.1, maxProbs: [0.6, 0.7, 0.5] },
      { sample: runA[3]!, response: 'A red triangle.', ratio: 0.1, maxProbs: [0.99, 0.99, 0.99] },
    ];
    for (const g of gens) {
      const metrics = computeMetrics({
        id: String(g.sample.id),
        format: g.sample.format,
        imageCount: g.sample.imageIds.length,
        targetIndex: g.sample.targetIndex,
        groundTruth: g.sample.groundTruth,
        response: g.response,
        attentionRatio: g.ratio,
        maxProbs: g.maxProbs,
        logProbs: g.maxProbs.map(Math.log),
      });
      await store.call('insertGeneration', {
        augmentedId: g.sample.id,
        jobId: null,
        model: 'test',
        settings: {},
        response: g.response,
        tokenCount: 3,
        metrics,
        attentionMaps: null,
        timing: null,
      });
    }
    await store.close();

    await service.handlers['project.open']({ dir: projectDir });
    const sel = await service.handlers['pipeline.select']({});
    expect((await waitFinal(service, sel.jobId)).state).toBe('done');
    const pairs = await service.handlers['pipeline.pairs']({
      offset: 0,
      limit: 100,
      filter: {},
      sort: { by: 'id', dir: 'asc' },
    });
    expect(pairs.items).toHaveLength(1);
    const pair = pairs.items[0]!;
    expect(pair).toMatchObject({
      format: runA[0]!.format,
      target_index: runA[0]!.targetIndex,
      attention_ratio: 0.1,
      decision: 'keep',
      chosen: runA[0]!.groundTruth,
      rejected: 'A blue circle.',
    });
    expect(pair.reasons.some((r) => r.startsWith('attention ratio 0.1'))).toBe(true);
    const stats = await service.handlers['pipeline.stats']({ bins: 10 });
    expect(stats).toMatchObject({ generations: 4, kept: 1, failedBy: { attention: 1, different: 1, perplexity: 1 } });

    // A threshold change re-decides from stored metrics: a 0.96 limit keeps the attentive one too.
    const patch = {
      selection: { thresholds: { [runA[1]!.format]: { [String(runA[1]!.imageIds.length)]: { value: 0.99 } } } },
    };
    const sel2 = await service.handlers['pipeline.select']({ patch });
    expect((await waitFinal(service, sel2.jobId)).state).toBe('done');
    expect(
      (
        await service.handlers['pipeline.pairs']({
          offset: 0,
          limit: 100,
          filter: { decision: ['keep'] },
          sort: { by: 'id', dir: 'asc' },
        })
      ).total,
    ).toBe(2);

    const out = path.join(dir, 'export-mia');
    const exported = await service.handlers['pipeline.export']({ format: 'mia', out });
    expect(exported.pairs).toBe(2);
    const json = JSON.parse(await readFile(path.join(out, 'mia_dpo.json'), 'utf8')) as {
      image: string | string[];
      prompt: string;
    }[];
    expect(json).toHaveLength(2);
    for (const r of json) for (const im of [r.image].flat()) expect(existsSync(path.join(out, im))).toBe(true);

    const reject = await service.handlers['pipeline.pairs.review']({ id: pair.id, action: 'reject' });
    expect(reject.changed).toBe(true);
    const lf = await service.handlers['pipeline.export']({ format: 'llamafactory', out: path.join(dir, 'export-lf') });
    expect(lf.pairs).toBe(1);
    await service.close();
  });

  it('keeps grounding and Visual Genome samples out of grid and pic-in-pic, and counts them in the job result', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 12, images: 12, bad: false });
    // LLaVA-665k layout: images 0-3 under vg/VG_100K/ (Visual Genome), the rest under coco/train2017/.
    const entries = JSON.parse(await readFile(ds.file, 'utf8')) as { image?: string }[];
    await mkdir(path.join(ds.imagesRoot, 'vg', 'VG_100K'), { recursive: true });
    await mkdir(path.join(ds.imagesRoot, 'coco', 'train2017'), { recursive: true });
    const moved = new Map<string, string>();
    const withImage = entries.filter((e) => e.image !== undefined);
    for (const [i, e] of withImage.entries()) {
      const rel =
        moved.get(e.image!) ?? path.posix.join(i < 4 ? 'vg/VG_100K' : 'coco/train2017', path.posix.basename(e.image!));
      if (!moved.has(e.image!)) await rename(path.join(ds.imagesRoot, e.image!), path.join(ds.imagesRoot, rel));
      moved.set(e.image!, rel);
    }
    const rows = withImage.map((e, i) => {
      const entry = { ...(llavaEntry(i, moved.get(e.image!)!) as { conversations: { value: string }[] }), id: `s${i}` };
      // Entries 4 and 5 (COCO) are grounding data: a box in the answer or in the question.
      if (i === 4) entry.conversations[1]!.value = 'The circle is at [0.12, 0.3, 0.5, 0.77].';
      if (i === 5) entry.conversations[0]!.value = '<image>\nWhat is in [0.1, 0.2, 0.3, 0.4]?';
      return entry;
    });
    await writeFile(ds.file, JSON.stringify(rows));
    expect((await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot })).job.state).toBe(
      'done',
    );
    const { jobId } = await service.handlers['pipeline.augment']({ seed: 3, formats: ['grid', 'pip'] });
    const job = await waitFinal(service, jobId);
    expect(job.state).toBe('done');
    expect(job.result).toEqual({
      samples: rows.length - 6,
      keptOutOfComposites: { grounding: 2, visualGenome: 4 },
      skipped: 6,
    });
    await service.handlers['project.close']({});
    const projectDir = path.join(dir, 'project');
    const sources = new Set((await augmented(projectDir)).map((r) => r.sourceSampleId));
    expect(sources.size).toBe(rows.length - 6);
  });
});
