// API events against the UI's query cache: progress patches the cached job,
// a state change refetches the job, and only a finished job refetches the
// data its kind changed (an import: samples, sources, problems, counts).
import { QueryClient, type QueryKey } from '@tanstack/react-query';
import { describe, expect, it } from 'vitest';
import type { ApiEvent, Job, JobProgress } from '../../../shared/api';
import { applyApiEvent } from '../../../renderer/src/query/events';
import { queryKeys } from '../../../renderer/src/query/keys';

const progress = (done: number): JobProgress => ({ done, total: 10, ratePerSec: 1, etaSec: 10 - done });

function importJob(id: number, done: number): Job {
  return {
    id,
    kind: 'import',
    label: `Import ${id}`,
    state: 'running',
    progress: progress(done),
    createdAt: 1,
    updatedAt: 1,
    error: null,
    result: null,
  };
}

/** A cache holding one entry under each key the dataset page reads, all fresh. */
function seeded(): QueryClient {
  const qc = new QueryClient();
  qc.setQueryData(queryKeys.projectInfo, { project: null });
  qc.setQueryData(queryKeys.samplePage({}, 0), { total: 0, items: [] });
  qc.setQueryData(queryKeys.samplePage({ hasProblems: true }, 3), { total: 0, items: [] });
  qc.setQueryData(queryKeys.sample(5), null);
  qc.setQueryData(queryKeys.sources, { sources: [] });
  qc.setQueryData(queryKeys.problemPage(0, 100), { total: 0, items: [] });
  qc.setQueryData(queryKeys.jobList, { jobs: [importJob(1, 2), importJob(2, 0)] });
  qc.setQueryData(queryKeys.job(1), importJob(1, 2));
  qc.setQueryData(queryKeys.job(2), importJob(2, 0));
  return qc;
}

/** Keys whose cached data was marked for refetching. */
function invalidated(qc: QueryClient): QueryKey[] {
  return qc
    .getQueryCache()
    .getAll()
    .filter((q) => q.state.isInvalidated)
    .map((q) => q.queryKey);
}

const state = (jobId: number, kind: string, s: Job['state']): ApiEvent => ({
  type: 'job.state',
  jobId,
  kind,
  state: s,
  error: null,
});

describe('API events in the query cache', () => {
  it('patches the progress of the cached job and its list entry, refetching nothing', () => {
    const qc = seeded();
    applyApiEvent(qc, { type: 'job.progress', jobId: 1, progress: progress(7) });
    expect(qc.getQueryData<Job>(queryKeys.job(1))?.progress.done).toBe(7);
    expect(qc.getQueryData<{ jobs: Job[] }>(queryKeys.jobList)?.jobs.map((j) => j.progress.done)).toEqual([7, 0]);
    expect(qc.getQueryData<Job>(queryKeys.job(2))?.progress.done).toBe(0);
    expect(invalidated(qc)).toEqual([]);
  });

  it('ignores progress of a job nobody has loaded', () => {
    const qc = new QueryClient();
    applyApiEvent(qc, { type: 'job.progress', jobId: 9, progress: progress(1) });
    expect(qc.getQueryCache().getAll()).toEqual([]);
  });

  it('refetches only the job and the job list on a state change short of done', () => {
    const qc = seeded();
    applyApiEvent(qc, state(1, 'import', 'cancelled'));
    expect(invalidated(qc)).toEqual([queryKeys.jobList, queryKeys.job(1)]);
  });

  it('refetches every sample page and detail, the sources, problems and counts when an import is done', () => {
    const qc = seeded();
    applyApiEvent(qc, state(1, 'import', 'done'));
    const expected = [
      queryKeys.projectInfo,
      queryKeys.samplePage({}, 0),
      queryKeys.samplePage({ hasProblems: true }, 3),
      queryKeys.sample(5),
      queryKeys.sources,
      queryKeys.problemPage(0, 100),
      queryKeys.jobList,
      queryKeys.job(1),
    ];
    expect(new Set(invalidated(qc).map((k) => JSON.stringify(k)))).toEqual(
      new Set(expected.map((k) => JSON.stringify(k))),
    );
  });

  it('leaves the dataset alone when a job of another kind (or an unknown one) is done', () => {
    const qc = seeded();
    applyApiEvent(qc, state(2, 'augment', 'done'));
    applyApiEvent(qc, state(2, 'train', 'done'));
    expect(invalidated(qc)).toEqual([queryKeys.jobList, queryKeys.job(2)]);
  });

  it('ignores log events', () => {
    const qc = seeded();
    applyApiEvent(qc, { type: 'log', level: 'info', message: 'x', jobId: 1, at: 1 });
    expect(invalidated(qc)).toEqual([]);
  });

  it('appends a train.step to its run’s cached metrics, replacing a repeated step, and rereads runs and checkpoints', async () => {
    const qc = new QueryClient();
    const m = (step: number, loss: number) => ({
      step,
      epoch: 0,
      loss,
      rewards_chosen: 0,
      rewards_rejected: 0,
      margin: 0,
      accuracy: 0,
      logps_chosen: 0,
      logps_rejected: 0,
      ref_logps_chosen: 0,
      ref_logps_rejected: 0,
      lr: 1e-5,
      grad_norm: 1,
      tokens: 1,
      tokens_per_sec: 1,
      step_ms: 1,
      peak_rss: 1,
    });
    qc.setQueryData(queryKeys.trainMetrics(4), { steps: [m(1, 0.7), m(2, 0.6)] });
    qc.setQueryData(queryKeys.trainMetrics(5), { steps: [] });
    qc.setQueryData(queryKeys.trainRuns, { runs: [] });
    qc.setQueryData(queryKeys.trainCheckpoints(4), { checkpoints: [] });
    applyApiEvent(qc, { type: 'train.step', jobId: 9, runId: 4, metrics: m(3, 0.5) });
    applyApiEvent(qc, { type: 'train.step', jobId: 9, runId: 4, metrics: m(3, 0.4) });
    const steps = qc.getQueryData<{ steps: { step: number; loss: number }[] }>(queryKeys.trainMetrics(4))!.steps;
    expect(steps.map((s) => [s.step, s.loss])).toEqual([
      [1, 0.7],
      [2, 0.6],
      [3, 0.4],
    ]);
    expect(qc.getQueryData<{ steps: unknown[] }>(queryKeys.trainMetrics(5))!.steps).toEqual([]);
    expect(qc.getQueryState(queryKeys.trainRuns)!.isInvalidated).toBe(true);
    expect(qc.getQueryState(queryKeys.trainCheckpoints(4))!.isInvalidated).toBe(true);
  });
});
