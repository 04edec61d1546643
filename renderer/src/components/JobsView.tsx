// All jobs of the project with their state and live progress, and the
// actions their state allows (cancel, pause, resume).
import { FINAL_JOB_STATES } from '../../../shared/api';
import { useJobAction, type JobAction } from '../query/mutations';
import { useJobs } from '../query/queries';
import { JobProgress } from './JobProgress';

export function JobsView() {
  const jobs = useJobs().data?.jobs;
  const action = useJobAction();
  const act = (a: JobAction, id: number) => action.mutate({ id, action: a });

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
          {job.error !== null && (
            <p className="error-text">
              {job.error.kind}: {job.error.message}
            </p>
          )}
          {!FINAL_JOB_STATES.includes(job.state) && (
            <div className="job-actions">
              {job.state === 'paused' ? (
                <button type="button" onClick={() => act('resume', job.id)}>
                  Resume
                </button>
              ) : (
                <button type="button" onClick={() => act('pause', job.id)}>
                  Pause
                </button>
              )}
              <button type="button" onClick={() => act('cancel', job.id)}>
                Cancel
              </button>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
