// Issue 13 item 1: an import rerun while the import of the same source is
// unfinished (a crash interrupted it; it resumed when the project opened)
// finishes that job instead of importing the file a second time.
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { submitAndWait } from '../../../electron/cli/job-command';
import { makeDemoDataset } from '../../../electron/io/demo-dataset';
import { removeTempDirs, serviceWithProject } from '../io/helpers';

afterAll(removeTempDirs);

const quiet = new Writable({ write: (_c, _e, done) => done() });

describe('import rerun', () => {
  it('joins the unfinished import of the same source: one job, one source, each entry once', async () => {
    const { service, dir } = await serviceWithProject();
    const ds = await makeDemoDataset(path.join(dir, 'data'), { samples: 40, bad: false });
    const other = await makeDemoDataset(path.join(dir, 'other'), { samples: 3, bad: false });
    const request = {
      source: { kind: 'llava' as const, file: ds.file, imagesRoot: ds.imagesRoot },
      abortOnProblem: false,
    };
    const interrupted = await service.handlers['dataset.import'](request);
    const otherJob = await service.handlers['dataset.import']({
      ...request,
      source: { kind: 'llava', file: other.file, imagesRoot: other.imagesRoot },
    });
    const outcome = await submitAndWait(
      service,
      { stdout: quiet, stderr: quiet, tty: false },
      'import',
      () => service.handlers['dataset.import'](request),
      true,
    );
    expect(outcome.job.id).toBe(interrupted.jobId);
    expect(outcome.job.state).toBe('done');
    const { jobs } = await service.handlers['jobs.list']({});
    expect(jobs.map((j) => j.id).sort()).toEqual([interrupted.jobId, otherJob.jobId].sort());
    const { sources } = await service.handlers['sources.list']({});
    expect(sources).toHaveLength(2);
    expect((await service.handlers['samples.page']({ offset: 0, limit: 1, filter: {} })).total).toBe(40 + 3);
    await service.close();
  }, 10_000);
});
