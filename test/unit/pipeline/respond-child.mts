// Child process of respond.test.ts: runs the respond job on a project with a
// slow test engine until the parent kills it with SIGKILL.
import { JobRunner } from '../../../electron/jobs/runner';
import { respondJobKind } from '../../../electron/pipeline/respond/respond-job';
import { openProject } from '../../../electron/store/project';
import { testEngine } from './test-engine';

const store = await openProject(process.argv[2]!);
const runner = new JobRunner(store, [respondJobKind(async () => testEngine({ delayMs: 150 }))], () => undefined);
await runner.submit('respond', { model: 'test' });
process.stdout.write('started\n');
