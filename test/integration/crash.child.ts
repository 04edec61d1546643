// Child process of crash.test.ts: runs (or resumes) an import job in a project
// and prints "running" once the runner works, "finished" at the end. The
// parent kills it with SIGKILL at random points.
import { importJob } from '../../electron/io/import-job';
import { JobRunner } from '../../electron/jobs/runner';
import { openProjectExclusive } from '../../electron/db';

const [dir, file, imagesRoot] = process.argv.slice(2) as [string, string, string];
const store = await openProjectExclusive(dir);
const runner = new JobRunner(store, [importJob], () => undefined);
const jobs = await store.call('listJobs', {});
if (jobs.length === 0)
  await runner.submit(importJob, {
    source: { kind: 'llava', file, imagesRoot },
    abortOnProblem: false,
    unitEntries: 20,
  });
else await runner.start();
process.stdout.write('running\n');
await runner.idle();
await store.close();
process.stdout.write('finished\n');
