// One job kept current: fetched once, then updated from progress and state
// events; re-read on every state change to pick up its result or error.
import { useCallback, useEffect, useState } from 'react';
import type { Job } from '../../../shared/api';
import { useApi, useReportError } from '../api-context';
import { useApiEvents } from './useApiEvents';

export function useJob(jobId: number | undefined): Job | undefined {
  const client = useApi();
  const report = useReportError();
  const [job, setJob] = useState<Job | undefined>(undefined);

  const reload = useCallback(() => {
    if (jobId === undefined) return;
    client.invoke('jobs.get', { id: jobId }).then(setJob, report);
  }, [client, jobId, report]);

  useEffect(reload, [reload]);

  useApiEvents((e) => {
    if (jobId === undefined || !('jobId' in e) || e.jobId !== jobId) return;
    if (e.type === 'job.progress') setJob((j) => (j === undefined ? j : { ...j, progress: e.progress }));
    if (e.type === 'job.state') reload();
  });
  return job;
}
