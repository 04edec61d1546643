// All jobs of the project with their state and live progress, and the
// actions their state allows (cancel, pause, resume).
import { useCallback, useEffect, useState } from 'react';
import type { Job } from '../../../shared/api';
import { FINAL_JOB_STATES } from '../../../shared/api';
import { useApi, useReportError } from '../api-context';
import { useApiEvents } from '../hooks/useApiEvents';
import { JobProgress } from './JobProgress';

export function JobsView() {
  const client = useApi();
  const report = useReportError();
  const [jobs, setJobs] = useState<Job[] | undefined>(undefined);

  const reload = useCallback(() => {
    client.invoke('jobs.list', {}).then((r) => setJobs(r.jobs), report);
  }, [client, report]);
  useEffect(reload, [reload]);

  useApiEvents((e) => {
    if (e.type === 'job.state') reload();
    if (e.type === 'job.progress') setJobs((js) => js?.map((j) => (j.id === e.jobId ? { ...j, progress: e.progress } : j)));
  });

  const act = (channel: 'jobs.cancel' | 'jobs.pause' | 'jobs.resume', id: number) => {
    client.invoke(channel, { id }).then(reload, report);
  };

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
                <button type="button" onClick={() => act('jobs.resume', job.id)}>
                  Resume
                </button>
              ) : (
                <button type="button" onClick={() => act('jobs.pause', job.id)}>
                  Pause
                </button>
              )}
              <button type="button" onClick={() => act('jobs.cancel', job.id)}>
                Cancel
              </button>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
