// All jobs of the project with their state and live progress, and the
// actions their state allows (cancel, pause, resume).
import { JobControls } from './JobControls';
import { useJobs } from '../query/queries';
import { ErrorText } from './ErrorText';
import { JobProgress } from './JobProgress';

export function JobsView() {
  const jobs = useJobs().data?.jobs;

  if (jobs === undefined) return <p role="status">Loading jobs…</p>;
  if (jobs.length === 0) return <p role="status">No jobs yet. Import a dataset to start one.</p>;
  return (
    <ul className="jobs" aria-label="Jobs">
      {jobs.map((job) => (
        <li key={job.id} className={`job job-${job.state}`} aria-label={`Job ${job.label}`}>
          <div className="job-head">
            <strong>{job.label}</strong>
            <span className={`state state-${job.state}`}>{job.state}</span>
          </div>
          <JobProgress progress={job.progress} label={`Progress of ${job.label}`} />
          <ErrorText error={job.error} />
          <JobControls job={job} name={job.label} />
        </li>
      ))}
    </ul>
  );
}
