// The respond job's bookkeeping with a stand-in engine: every augmented
// sample answered once with its metrics; a SIGKILL mid-run loses at most the
// sample in flight and the resumed job neither repeats nor skips samples.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { JobRunner } from '../../../electron/jobs/runner';
import { respondJobKind } from '../../../electron/pipeline/respond/respond-job';
import type { ResponseRequest } from '../../../electron/pipeline/respond/engine-interface';
import { openProject, projectDbPath } from '../../../electron/store/project';
import { runImport, serviceWithProject, waitFinal } from '../io/helpers';
import { testEngine } from './test-engine';

const here = path.dirname(fileURLToPath(import.meta.url));

async function augmentedProject(count: number): Promise<string> {
  const { service, dir } = await serviceWithProject();
  const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 12, images: 12, bad: false });
  await runImport(service, { kind: 'llava', file: ds.file, imagesRoot: ds.imagesRoot });
  const { jobId } = await service.handlers['pipeline.augment']({ seed: 3, count });
  expect((await waitFinal(service, jobId)).state).toBe('done');
  await service.close();
  return path.join(dir, 'project');
}

function generatedIds(projectDir: string): number[] {
  const db = new Database(projectDbPath(projectDir), { readonly: true });
  try {
    return db.prepare('SELECT augmented_id FROM generations ORDER BY id').pluck().all() as number[];
  } finally {
    db.close();
  }
}

describe('respond job', () => {
  it('answers every augmented sample once and stores its metrics and maps', async () => {
    const projectDir = await augmentedProject(8);
    const store = await openProject(projectDir);
    const calls: ResponseRequest[] = [];
    const runner = new JobRunner(store, [respondJobKind(async () => testEngine({ calls }))], () => undefined);
    const job = await runner.submit('respond', { model: 'test', perturb: true, seed: 2 });
    await runner.idle();
    expect((await runner.get(job.id)).state).toBe('done');
    const metrics = await store.call('generationMetrics');
    const samples = await store.call('augmentedSamples', { offset: 0, limit: 100 });
    expect(metrics).toHaveLength(8);
    expect(calls.map((c) => c.prompt)).toEqual(samples.map((s) => s.prompt));
    for (const [i, m] of metrics.entries()) {
      const s = samples[i]!;
      expect(calls[i]!.images).toHaveLength(s.promptImages.length);
      expect(m).toMatchObject({ format: s.format, imageCount: s.imageIds.length, targetIndex: s.targetIndex, pplMaxProb: expect.closeTo(2, 6) as number });
      if (s.format === 'sequence') expect(m.attentionRatio).toBeCloseTo(1 / s.imageIds.length);
      expect(m.editDistanceTokens).toBe(m.editDistanceChars);
    }
    await runner.close();
    await store.close();
  });

  it('a SIGKILL mid-run loses at most the sample in flight; the resumed run finishes without repeats', async () => {
    const projectDir = await augmentedProject(12);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'respond-child.mts'), projectDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 400 && generatedIds(projectDir).length < 4; i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await exited;
    const before = generatedIds(projectDir);
    expect(before.length).toBeGreaterThanOrEqual(4);
    expect(before.length).toBeLessThan(12);

    const store = await openProject(projectDir);
    const calls: ResponseRequest[] = [];
    const runner = new JobRunner(store, [respondJobKind(async () => testEngine({ calls }))], () => undefined);
    await runner.start();
    await runner.idle();
    const after = generatedIds(projectDir);
    expect(after).toHaveLength(12);
    expect(new Set(after).size).toBe(12);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(calls).toHaveLength(12 - before.length);
    await runner.close();
    await store.close();
  });
});
