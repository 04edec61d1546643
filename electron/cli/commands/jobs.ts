// `mia-dpo jobs DIR`: lists the project's jobs. Reads the store directly so
// listing never starts or resumes a job; read-only beside a process that holds the project.
import { toApiJob } from '../../jobs/runner';
import { openStoreToRead } from '../open-to-read';
import { EXIT, jsonOutput, positional, writeJson, type CliCommand } from '../command';

export const jobsCommand: CliCommand = {
  name: 'jobs',
  summary: 'list the jobs of a project with their state and progress',
  define: (cmd) => cmd.argument('<DIR>', 'project folder').option('--json', 'print the jobs as JSON'),
  async run(args, io) {
    const store = await openStoreToRead(positional(args, 0));
    try {
      const jobs = (await store.call('listJobs', {})).map((j) => toApiJob(j));
      if (jsonOutput(args)) writeJson(io, { jobs });
      else if (jobs.length === 0) io.stdout.write('no jobs\n');
      else {
        for (const j of jobs) {
          const progress = j.progress.total === null ? `${j.progress.done}` : `${j.progress.done}/${j.progress.total}`;
          io.stdout.write(
            `${String(j.id).padStart(4)}  ${j.state.padEnd(9)}  ${progress.padStart(13)}  ${j.label}${j.error ? `  (${j.error.message})` : ''}\n`,
          );
        }
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
