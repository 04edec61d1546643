// @vitest-environment happy-dom
// The Training page's adapter actions: Export adapter and Merge into the model
// disabled with their reason until the run has finished (a merge also in a
// read-only project); the dialog sends train.export / train.merge with the
// chosen adapter and folder, shows a refused command's error as a sentence and
// stays open; a started merge's progress, controls and result show on the page.
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import type { ApiClient, Job } from '../../../shared/api';
import type { TrainCheckpoint, TrainRun } from '../../../shared/pipeline/train';
import { ApiContext } from '../../../renderer/src/api-context';
import { AdapterActions } from '../../../renderer/src/components/training/AdapterActions';
import { createQueryClient } from '../../../renderer/src/query/client';

afterEach(cleanup);

const run = (state: TrainRun['state']): TrainRun => ({
  id: 3,
  out: '/runs/a',
  model: 'm',
  pairs: 10,
  totalSteps: 4,
  step: state === 'done' ? 4 : 2,
  state,
  options: {},
  createdAt: 1,
  updatedAt: 1,
});
const CHECKPOINTS: TrainCheckpoint[] = [2, 4].map((step) => ({
  step,
  dir: `/runs/a/checkpoints/step-00000${step}`,
  files: [],
  at: 1,
}));

const mergeJob = (state: Job['state'], extra: Partial<Job> = {}): Job =>
  ({
    id: 12,
    kind: 'model-merge',
    label: 'merge the adapter of training run 3 into /runs/a-merged',
    state,
    progress: { done: 30, total: 120, ratePerSec: 10, etaSec: 9 },
    createdAt: 1,
    updatedAt: 1,
    error: null,
    result: null,
    ...extra,
  }) as Job;

function renderActions(
  r: TrainRun,
  opts: {
    readOnly?: boolean;
    jobs?: () => Job[];
    answer?: (channel: string, request: unknown) => unknown;
    calls?: [string, unknown][];
  } = {},
) {
  const client = {
    invoke: async (channel: string, request: unknown) => {
      opts.calls?.push([channel, request]);
      if (channel === 'jobs.list') return { jobs: opts.jobs?.() ?? [] };
      const answer = opts.answer?.(channel, request);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  } as unknown as ApiClient;
  const qc = createQueryClient({ report: () => undefined, clear: () => undefined });
  render(
    <ApiContext.Provider value={client}>
      <QueryClientProvider client={qc}>
        <AdapterActions run={r} checkpoints={CHECKPOINTS} readOnly={opts.readOnly ?? false} />
      </QueryClientProvider>
    </ApiContext.Provider>,
  );
  return qc;
}

const button = (name: string) => screen.getByRole('button', { name }) as HTMLButtonElement;
const describedBy = (b: HTMLElement) => document.getElementById(b.getAttribute('aria-describedby') ?? '')?.textContent;

describe('AdapterActions', () => {
  it('disables both actions with the reason while the run trains, and the merge in a read-only project', () => {
    renderActions(run('training'));
    for (const name of ['Export adapter', 'Merge into the model']) {
      expect(button(name).disabled).toBe(true);
      expect(describedBy(button(name))).toContain('Available once the run has finished.');
    }
    cleanup();
    renderActions(run('done'), { readOnly: true });
    expect(button('Export adapter').disabled).toBe(false);
    expect(button('Export adapter').getAttribute('aria-describedby')).toBeNull();
    expect(button('Merge into the model').disabled).toBe(true);
    expect(describedBy(button('Merge into the model'))).toContain('read-only');
  });

  it("exports a checkpoint's adapter to the folder typed; a refusal shows in the dialog as a sentence", async () => {
    const calls: [string, unknown][] = [];
    let refuse = true;
    renderActions(run('done'), {
      calls,
      answer: (channel, request) =>
        channel !== 'train.export'
          ? undefined
          : refuse
            ? new AppError('bad-input', '/x: already exists and is not empty')
            : { out: (request as { out: string }).out, files: [] },
    });
    fireEvent.click(button('Export adapter'));
    const dialog = screen.getByRole('dialog', { name: 'Export adapter' });
    const folder = within(dialog).getByLabelText('Destination folder') as HTMLInputElement;
    expect(folder.value).toBe('/runs/a-adapter');
    fireEvent.change(folder, { target: { value: '/x' } });
    fireEvent.change(within(dialog).getByLabelText('Adapter'), { target: { value: '2' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert.textContent).not.toMatch(/bad-input/);
    expect(alert.textContent).toContain('/x: already exists and is not empty');
    expect(calls.filter(([c]) => c === 'train.export')).toEqual([
      ['train.export', { runId: 3, out: '/x', checkpointStep: 2 }],
    ]);
    refuse = false;
    fireEvent.change(folder, { target: { value: '/y' } });
    fireEvent.change(within(dialog).getByLabelText('Adapter'), { target: { value: 'final' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.filter(([c]) => c === 'train.export').at(-1)).toEqual(['train.export', { runId: 3, out: '/y' }]);
    expect(screen.getByRole('status', { name: 'Exported adapter' }).textContent).toContain('/y');
  });

  it('starts a merge and follows its job: progress and cancel while it runs, the folder when done', async () => {
    const calls: [string, unknown][] = [];
    let jobs: Job[] = [];
    const qc = renderActions(run('done'), {
      calls,
      jobs: () => jobs,
      answer: (channel) =>
        channel === 'train.merge' ? { jobId: 12 } : channel === 'jobs.cancel' ? jobs[0] : undefined,
    });
    fireEvent.click(button('Merge into the model'));
    const dialog = screen.getByRole('dialog', { name: 'Merge into the model' });
    expect((within(dialog).getByLabelText('Destination folder') as HTMLInputElement).value).toBe('/runs/a-merged');
    jobs = [mergeJob('running')];
    fireEvent.click(within(dialog).getByRole('button', { name: 'Start merge' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls.find(([c]) => c === 'train.merge')).toEqual(['train.merge', { runId: 3, out: '/runs/a-merged' }]);
    const bar = await screen.findByRole('progressbar', { name: 'Merge progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('25');
    fireEvent.click(button('Cancel merge'));
    await waitFor(() => expect(calls.filter(([c]) => c === 'jobs.cancel')).toEqual([['jobs.cancel', { id: 12 }]]));
    jobs = [
      mergeJob('done', {
        progress: { done: 120, total: 120, ratePerSec: 10, etaSec: 0 },
        result: { runId: 3, step: null, out: '/runs/a-merged', tensors: 120, merged: 14, files: ['a', 'b'] },
      } as Partial<Job>),
    ];
    await qc.invalidateQueries();
    await screen.findByLabelText('Merged model');
    expect(screen.getByLabelText('Merged model').textContent).toContain('/runs/a-merged');
    expect(screen.queryByRole('progressbar')).toBeNull();
  });

  it("shows a failed merge's error as a sentence", async () => {
    renderActions(run('done'), {
      jobs: () => [
        mergeJob('failed', {
          error: { kind: 'not-found', message: 'the base model /m of training run 3 no longer exists' },
          result: null,
        }),
      ],
    });
    await screen.findByRole('alert');
    expect(screen.getByRole('alert').textContent).toBe(
      'Something could not be found: the base model /m of training run 3 no longer exists.',
    );
  });
});
