// An InternLM-XComposer-2.5 folder through the whole MIA-DPO pipeline in the
// app (issue 16's done-when), driven through the service API the UI calls, as
// the demo run does (electron/cli/demo/run.ts): model inspect, a generated
// world imported, augmented, answered by the tiny random IXC2.5 model with
// attention (hd_num 24 for one image, 6 for several; maps from the global
// view), selected, trained (the train job through `train.start`, LoRA-DPO on
// IXC2.5's five targets, the adapter in the official PEFT layout), a benchmark
// imported and evaluated with the base model and with that adapter, compared,
// the attention difference and both figures drawn.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../electron/cli/command';
import { compareRuns } from '../../electron/cli/demo/compare';
import { evaluate, prepareDemo, runJob, Stages, trainAdapter, type DemoInput } from '../../electron/cli/demo/run';
import { IXC_LORA_TARGETS, IXC_PEFT_TARGET_MODULES } from '../../electron/engine/models/ixc';
import { createService } from '../../electron/service';
import { JOB_RESULTS } from '../../shared/api';
import { writeTinyIxc, type TinyIxc } from '../helpers/tiny-ixc';

const home = mkdtempSync(path.join(os.tmpdir(), 'ixc-pipeline-'));
process.env.XDG_CONFIG_HOME = path.join(home, 'config');
let tiny: TinyIxc | undefined;
afterAll(() => {
  tiny?.cleanup();
  rmSync(home, { recursive: true, force: true });
});

const io: CliIo = {
  stdout: new Writable({ write: (_c, _e, done) => done() }),
  stderr: new Writable({ write: (_c, _e, done) => done() }),
  tty: false,
};

describe('an IXC2.5 folder through the pipeline in the app', () => {
  it('inspect, import, augment, respond, select, train, bench, eval base and adapter, compare, attention-diff, figures', async () => {
    tiny = await writeTinyIxc(41);
    const service = await createService({ configDir: path.join(home, 'config') });
    try {
      const h = service.handlers;
      const inspected = await h['model.inspect']({ dir: tiny.dir });
      expect(inspected).toMatchObject({ supported: true, family: 'ixc', can_generate: true });
      const side = inspected.supported ? inspected.ixc!.crop_size / 14 / 2 : 0;

      const input: DemoInput = {
        dir: path.join(home, 'project'),
        model: tiny.dir,
        seed: 3,
        ep: 'cpu',
        sizes: {
          worldSamples: 40,
          benchItems: 2,
          guardItems: 2,
          augment: 9,
          maxNewTokens: 4,
          steps: 1,
          batch: 1,
          gradAccum: 1,
          checkpointEvery: 1,
        },
      };
      const stages = new Stages(() => undefined);
      const prepared = await prepareDemo(service, input, io, stages);
      expect(prepared.imported).toBe(40);
      expect(prepared.stats.generations).toBe(9);
      expect(prepared.stats.kept).toBeGreaterThan(0);
      expect(prepared.base.answered).toBeGreaterThan(0);

      // Respond stored the global view's side x side maps; a kept pair shows them per image.
      const pairs = await h['pipeline.pairs']({ offset: 0, limit: 5, filter: {}, sort: { by: 'id', dir: 'asc' } });
      const pair = await h['pipeline.pairs.get']({ id: pairs.items[0]!.id });
      expect(pair.attention.side).toBe(side);
      expect(pair.attention.maps.length).toBeGreaterThan(0);
      pair.attention.maps.forEach((m) => expect(m).toHaveLength(side * side));
      // Each image's share of its global view (resized / padded canvas): the long side fills it.
      expect(pair.attention.coverage).toHaveLength(pair.attention.maps.length);
      for (const c of pair.attention.coverage!) {
        expect(Math.max(c.x, c.y)).toBe(1);
        expect(Math.min(c.x, c.y)).toBeGreaterThan(0);
      }

      const training = await trainAdapter(service, io, input, prepared.stats.kept, {
        name: 'ixc-adapter',
        train: { loraTargets: [...IXC_LORA_TARGETS], lr: 5e-2 },
      });
      expect(training.steps).toBe(1);
      const config = JSON.parse(readFileSync(path.join(training.adapter, 'adapter_config.json'), 'utf8')) as {
        target_modules: string[];
      };
      expect(config.target_modules).toEqual(IXC_LORA_TARGETS.map((t) => IXC_PEFT_TARGET_MODULES[t]));
      const tuned = await evaluate(service, io, input, 'eval adapter', training.adapter);
      expect(tuned.modelId).toContain('+ixc-adapter@');
      expect(tuned.answered).toBe(prepared.base.answered);

      const cmp = await compareRuns(service, prepared.base, tuned);
      expect(cmp.before.all!.n).toBe(prepared.base.answered);

      const multi = (await h['eval.items']({ run: prepared.base.id, offset: 0, limit: 100 })).items.find(
        (i) => i.imageIds.length > 1,
      )!;
      const diff = await h['eval.attention.diff']({ a: prepared.base.id, b: tuned.id, itemId: multi.itemId });
      expect(diff.side).toBe(side);
      expect(diff.images).toHaveLength(multi.imageIds.length);
      diff.images.forEach((im, k) => {
        expect(im.diff).toHaveLength(side * side);
        expect(im.mean_a).toBeCloseTo(multi.per_image_mean![k]!, 6);
      });

      const { jobId } = await h['figures.render']({
        figures: ['attention-ratios', 'attention-before-after'],
        runs: [prepared.base.id, tuned.id],
      });
      const fig = JOB_RESULTS.figures.parse((await runJob(service, io, 'figures', jobId)).result);
      expect(fig.files.filter((f) => f.endsWith('.png')).length).toBeGreaterThanOrEqual(2);
    } finally {
      await service.close();
    }
  }, 300_000);
});
