// Cancel reaching the respond job's answer in flight: on a tiny random
// llava-hf model with a long token limit, a cancel during the first answer
// stops its decode loop before the limit and the job ends cancelled with
// nothing stored. ModelEngine is the engine the app uses (its graphs run in
// the engine's session worker).
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobRunner } from '../../../../electron/jobs/runner';
import { createRespondJob, type JobEngine, type OpenEngine } from '../../../../electron/pipeline/jobs/respond-job';
import { ModelEngine } from '../../../../electron/pipeline/respond/model-engine';
import { openProject } from '../../../../electron/db';
import type { ProjectStore } from '../../../../electron/db';
import { toAppError } from '../../../../shared/errors';
import { respondFixture, type RespondFixture } from './fixture';

const MAX_NEW = 400;

interface Observed {
  /** Resolves when the first answer has taken its first decode step. */
  decoding: Promise<void>;
  /** Stop checks per generate call: one after the prefill's token, then one per decode step. */
  steps: number[];
  outcomes: string[];
}

/**
 * The in-process engine, its requests' signal seen through a proxy that counts
 * how often the decode loop asks it whether to stop.
 */
function observedEngine(observed: Observed, decoding: () => void): OpenEngine {
  return async (p) => {
    const engine = await ModelEngine.open({ modelDir: p.modelDir, ep: p.ep });
    const job: JobEngine = {
      modelId: engine.modelId,
      layer: engine.layer,
      get ep() {
        return engine.ep;
      },
      tokenize: (text) => engine.tokenize(text),
      close: () => engine.close(),
      async generate(request) {
        const call = observed.steps.push(0) - 1;
        const signal = new Proxy(request.signal!, {
          get(target, key) {
            if (key === 'aborted' && ++observed.steps[call]! === 2) decoding();
            const value: unknown = Reflect.get(target, key, target);
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
        try {
          const result = await engine.generate({ ...request, signal });
          observed.outcomes.push(`${result.tokens.length} tokens`);
          return result;
        } catch (e) {
          observed.outcomes.push(toAppError(e).kind);
          throw e;
        }
      },
    };
    return job;
  };
}

let fx: RespondFixture;
let store: ProjectStore;

beforeAll(async () => {
  fx = await respondFixture(1);
  // The runner under test owns the project from here.
  await fx.service.close();
  store = await openProject(fx.projectDir);
}, 60_000);

afterAll(async () => {
  await store?.close();
  if (fx) rmSync(fx.dir, { recursive: true, force: true });
});

describe('respond job cancel', () => {
  it('stops the answer in flight before its token limit and ends cancelled with no generation stored', async () => {
    let decoding!: () => void;
    const observed: Observed = { decoding: new Promise<void>((r) => (decoding = r)), steps: [], outcomes: [] };
    const runner = new JobRunner(store, [createRespondJob(observedEngine(observed, decoding))], () => undefined);
    const job = await runner.submit('respond', { modelDir: fx.modelDir, ep: 'cpu', maxNewTokens: MAX_NEW });
    await observed.decoding;
    await runner.act(job.id, 'cancel');
    await runner.idle();

    const ended = await runner.get(job.id);
    expect(ended).toMatchObject({ state: 'cancelled', error: null, progress: { done: 0 } });
    expect(observed.outcomes).toEqual(['cancelled']);
    expect(observed.steps).toHaveLength(1);
    expect(observed.steps[0]).toBeGreaterThanOrEqual(2);
    expect(observed.steps[0]).toBeLessThan(MAX_NEW);
    expect(await store.call('generationRecords', {})).toEqual([]);
    await runner.close();
  }, 60_000);

  it('answers to the token limit when not cancelled, so the cancelled answer was cut short', async () => {
    const observed: Observed = { decoding: Promise.resolve(), steps: [], outcomes: [] };
    const runner = new JobRunner(store, [createRespondJob(observedEngine(observed, () => undefined))], () => undefined);
    const job = await runner.submit('respond', { modelDir: fx.modelDir, ep: 'cpu', maxNewTokens: MAX_NEW });
    await runner.idle();
    expect((await runner.get(job.id)).state).toBe('done');
    // The random model's first answer runs to the limit rather than stopping early at an end token.
    expect(observed.outcomes[0]).toBe(`${MAX_NEW} tokens`);
    expect(await store.call('generationRecords', {})).toHaveLength(3);
    await runner.close();
  }, 120_000);

  it('a bare abort() ends the in-process answer as a cancelled AppError, not a DOMException', async () => {
    const engine = await ModelEngine.open({ modelDir: fx.modelDir, ep: 'cpu' });
    try {
      const controller = new AbortController();
      controller.abort();
      const image = { data: new Uint8Array(28 * 28 * 3), width: 28, height: 28, channels: 3 as const };
      const request = {
        prompt: '<image>\nWhat is shown?',
        images: [image],
        layer: engine.layer,
        maxNewTokens: 4,
        temperature: 0,
        seed: 0,
        signal: controller.signal,
      };
      await expect(engine.generate(request)).rejects.toMatchObject({ name: 'AppError', kind: 'cancelled' });
    } finally {
      await engine.close();
    }
  }, 60_000);
});
