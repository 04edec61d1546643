// A project ready for the respond job, made by the test itself: a generated
// LLaVA dataset (images drawn with sharp) imported, augmented in every format,
// and a tiny random llava-hf model folder (2 text layers, 4x4 patch grid).
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FINAL_JOB_STATES, type Job } from '../../../../shared/api';
import type { Format } from '../../../../shared/pipeline/formats';
import { makeDemoDataset } from '../../../../electron/io/demo-dataset';
import { createService, type Service } from '../../../../electron/service';
import { createRng } from '../../../../electron/engine/generate/sampling';
import { parseLlavaConfig } from '../../../../electron/engine/models/config';
import { initLora } from '../../../../electron/engine/models/lora';
import { writePeftAdapter } from '../../../../electron/engine/models/peft';
import { llavaSpec } from '../../../../electron/engine/models/llava';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

export async function waitJob(service: Service, jobId: number): Promise<Job> {
  for (;;) {
    const job = await service.handlers['jobs.get']({ id: jobId });
    if (FINAL_JOB_STATES.includes(job.state)) return job;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The pipeline.respond request the tests use: greedy, CPU, `maxNewTokens` 5. */
export function respondRequest(model: string, maxNewTokens = 5) {
  return {
    model,
    ep: 'cpu' as const,
    weights: 'fp32' as const,
    weightBlock: 32 as const,
    maxNewTokens,
    temperature: 0,
    seed: 0,
    perturb: false,
    aspect: 'pad' as const,
    template: 'model' as const,
  };
}

export interface RespondFixture {
  dir: string;
  projectDir: string;
  modelDir: string;
  service: Service;
}

/** `perFormat` augmented samples of each format (seeded), in a fresh project the returned service has open. */
export async function respondFixture(perFormat: number, seed = 3): Promise<RespondFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'respond-'));
  const projectDir = path.join(dir, 'project');
  const modelDir = path.join(dir, 'tiny-llava');
  await writeTinyLlava({ seed: 11, textLayers: 2, visionLayers: 2 }, modelDir);
  const service = await createService({ configDir: path.join(dir, 'config') });
  await service.handlers['project.create']({ dir: projectDir });
  const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 12, images: 10, bad: false });
  const imported = await service.handlers['dataset.import']({
    source: { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot },
    abortOnProblem: false,
  });
  if ((await waitJob(service, imported.jobId)).state !== 'done') throw new Error('fixture import failed');
  for (const format of ['sequence', 'grid', 'pip'] as Format[]) {
    const job = await service.handlers['pipeline.augment']({ seed, count: perFormat, formats: [format] });
    if ((await waitJob(service, job.jobId)).state !== 'done') throw new Error(`fixture augment (${format}) failed`);
  }
  return { dir, projectDir, modelDir, service };
}

/** A PEFT LoRA adapter folder `dir` for the model in `modelDir`, with random (non-zero) B so it changes the answers. */
export async function writeAdapter(modelDir: string, dir: string, seed: number): Promise<string> {
  const spec = llavaSpec(parseLlavaConfig(JSON.parse(await readFile(path.join(modelDir, 'config.json'), 'utf8'))));
  const rng = createRng(seed);
  const targets = ['q_proj', 'v_proj'] as const;
  const w = initLora(spec.text, { rank: 2, alpha: 4, rslora: false, targets }, rng);
  for (const m of w.modules.values()) m.b = Float32Array.from(m.b, () => rng() - 0.5);
  await writePeftAdapter(dir, {
    config: { r: 2, loraAlpha: 4, useRslora: false, targetModules: [...targets], loraDropout: 0 },
    layout: 'nested',
    modules: w.modules,
  });
  return dir;
}
