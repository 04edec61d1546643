// "Save figure": queues the `figures` job for one figure (with the page's
// draft or item) and says where the files went when it ends, or why not.
import { useState } from 'react';
import type { RequestIn } from '../../../../shared/api';
import { FINAL_JOB_STATES } from '../../../../shared/api';
import { ErrorText } from '../ErrorText';
import { useCommand } from '../../query/mutations';
import { useWatchedJob } from '../../query/pairs';

export function SaveFigure({ request, label }: { request: RequestIn<'figures.render'>; label: string }) {
  const save = useCommand('figures.render');
  const [jobId, setJobId] = useState<number | null>(null);
  const job = useWatchedJob(jobId).data;
  const running = jobId !== null && (job === undefined || !FINAL_JOB_STATES.includes(job.state));
  const png = job?.kind === 'figures' ? job.result?.files.find((f) => f.endsWith('.png')) : undefined;
  return (
    <div className="figure-save">
      <button
        type="button"
        disabled={save.isPending || running}
        onClick={() => save.mutate(request, { onSuccess: (r) => setJobId(r.jobId) })}
      >
        {label}
      </button>
      {running && <span role="status">Saving…</span>}
      {job?.state === 'done' && png !== undefined && (
        <span role="status" data-testid="figure-saved">
          Saved {png} (with the SVG and the data as JSON).
        </span>
      )}
      {job !== undefined && job.state !== 'done' && !running && <ErrorText error={job.error} />}
      <ErrorText error={save.error} />
    </div>
  );
}
