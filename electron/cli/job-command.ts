// The one path of the job commands (import, augment, respond, select, and the
// demo's steps): open the project through the service, finish any job of the
// same kind a crash interrupted (it resumed when the project opened), submit,
// wait with progress (./wait-job.ts), report as text or --json and return the
// exit code; the service always closes.
import type { Job } from '../../shared/api';
import { createService, type Service } from '../service';
import { EXIT, writeJson, type CliIo } from './command';
import { waitForJob } from './wait-job';

export interface JobOutcome {
  job: Job;
  /** Units done by interrupted jobs of the same kind, finished before this one was submitted. */
  resumedDone: number;
}

/**
 * Finishes the interrupted jobs of `kind`, then submits one with `submit` and waits for it to end. With `joins` the
 * request is submitted first: its handler returns the interrupted job of the same request, when there is one, instead
 * of a new job (an import rerun after a crash finishes that import rather than importing the file twice).
 */
export async function submitAndWait(
  service: Service,
  io: CliIo,
  kind: string,
  submit: () => Promise<{ jobId: number }>,
  joins = false,
): Promise<JobOutcome> {
  let resumedDone = 0;
  const { jobs } = await service.handlers['jobs.list']({});
  const submitted = joins ? (await submit()).jobId : null;
  for (const j of jobs.filter(
    (j) => j.kind === kind && j.id !== submitted && (j.state === 'running' || j.state === 'queued'),
  )) {
    resumedDone +=
      (await waitForJob(service, j.id, io, `${kind} (resumed job ${j.id})`)).progress.done - j.progress.done;
  }
  const jobId = submitted ?? (await submit()).jobId;
  return { job: await waitForJob(service, jobId, io, kind), resumedDone };
}

export interface JobCommand<R extends object> {
  /** The project folder. */
  dir: string;
  kind: string;
  json: boolean;
  submit(service: Service): Promise<{ jobId: number }>;
  /** The handler joins an interrupted job of the same request (see submitAndWait). */
  joins?: boolean;
  /** The command's own fields of the report (between `state` and `error` in the --json document). */
  report(service: Service, outcome: JobOutcome): Promise<R>;
  /** The text report of a job that finished. */
  print(report: R, io: CliIo): void;
}

export async function runJobCommand<R extends object>(io: CliIo, c: JobCommand<R>): Promise<number> {
  const service = await createService();
  try {
    await service.handlers['project.open']({ dir: c.dir });
    const outcome = await submitAndWait(service, io, c.kind, () => c.submit(service), c.joins);
    const { job } = outcome;
    const fields = await c.report(service, outcome);
    if (c.json)
      writeJson(io, { ok: job.state === 'done', jobId: job.id, state: job.state, ...fields, error: job.error });
    else if (job.state === 'done') c.print(fields, io);
    else io.stderr.write(`mia-dpo: ${c.kind} ${job.state}${job.error ? `: ${job.error.message}` : ''}\n`);
    return job.state === 'done' ? EXIT.ok : EXIT.failure;
  } finally {
    await service.close();
  }
}
