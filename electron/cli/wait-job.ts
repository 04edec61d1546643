// Waits for a job to reach a final state while drawing its progress; Ctrl-C
// cancels the job (at its next unit boundary) instead of killing the process.
import { FINAL_JOB_STATES, type Job } from '../../shared/api';
import type { Service } from '../service';
import type { CliIo } from './command';
import { ProgressBar } from './progress';

export async function waitForJob(service: Service, jobId: number, io: CliIo, label: string): Promise<Job> {
  const bar = new ProgressBar(io, label);
  let finished: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (finished = resolve));
  const off = service.onEvent((e) => {
    if (e.type === 'job.progress' && e.jobId === jobId) bar.update(e.progress);
    if (e.type === 'job.state' && e.jobId === jobId && FINAL_JOB_STATES.includes(e.state)) finished();
  });
  const onSigint = () => {
    io.stderr.write('\ncancelling the job at the next unit boundary...\n');
    service.handlers['jobs.cancel']({ id: jobId }).catch(() => undefined);
  };
  process.once('SIGINT', onSigint);
  try {
    const now = await service.handlers['jobs.get']({ id: jobId });
    if (!FINAL_JOB_STATES.includes(now.state)) await ended;
    return await service.handlers['jobs.get']({ id: jobId });
  } finally {
    process.off('SIGINT', onSigint);
    off();
    bar.end();
  }
}
