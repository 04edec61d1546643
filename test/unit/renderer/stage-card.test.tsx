// @vitest-environment happy-dom
// A Pipeline stage card with a running job: its state, progress with time
// left, and Pause / Cancel sending jobs.pause / jobs.cancel for that job; a
// failed run's error as a sentence, not an error kind.
import { QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiClient, Job } from '../../../shared/api';
import { ApiContext } from '../../../renderer/src/api-context';
import { StageCard } from '../../../renderer/src/components/pipeline/StageCard';
import { createQueryClient } from '../../../renderer/src/query/client';

afterEach(cleanup);

const job = (state: Job['state'], error: Job['error'] = null): Job => ({
  id: 7,
  kind: 'respond',
  label: 'Respond',
  state,
  progress: { done: 30, total: 120, ratePerSec: 2, etaSec: 45 },
  createdAt: 1,
  updatedAt: 1,
  error,
  result: null,
});

function renderCard(j: Job, calls: [string, unknown][]) {
  const client = {
    invoke: async (channel: string, request: unknown) => {
      calls.push([channel, request]);
      return { ...j, state: channel === 'jobs.pause' ? 'paused' : 'cancelled' };
    },
  } as unknown as ApiClient;
  const reported: unknown[] = [];
  const qc = createQueryClient({ report: (e) => reported.push(e), clear: () => undefined });
  render(
    <ApiContext.Provider value={client}>
      <QueryClientProvider client={qc}>
        <StageCard
          id="respond"
          step={3}
          title="Respond"
          purpose="answers"
          state={j.state}
          counts={<p>30 of 120</p>}
          job={j}
        />
      </QueryClientProvider>
    </ApiContext.Provider>,
  );
  return reported;
}

describe('StageCard', () => {
  it('shows a running job’s progress and ETA and sends pause and cancel for it', async () => {
    const calls: [string, unknown][] = [];
    renderCard(job('running'), calls);
    expect(screen.getByRole('status', { name: 'Respond state' }).textContent).toBe('Running');
    expect(screen.getByRole('progressbar', { name: 'Respond progress' }).getAttribute('aria-valuenow')).toBe('25');
    expect(screen.getByLabelText('Time left').textContent).toBe('ETA 45 s');
    fireEvent.click(screen.getByRole('button', { name: 'Pause respond' }));
    await waitFor(() => expect(calls).toEqual([['jobs.pause', { id: 7 }]]));
    fireEvent.click(screen.getByRole('button', { name: 'Cancel respond' }));
    await waitFor(() => expect(calls.at(-1)).toEqual(['jobs.cancel', { id: 7 }]));
  });

  it('offers resume for a paused job and shows a failed run’s error as a sentence', () => {
    renderCard(job('paused'), []);
    expect(screen.getByRole('button', { name: 'Resume respond' })).toBeTruthy();
    cleanup();
    renderCard(job('failed', { kind: 'not-found', message: 'model folder /m does not exist' }), []);
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.getByRole('alert').textContent).toBe('Something could not be found: model folder /m does not exist.');
  });
});
