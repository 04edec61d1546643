// The actions a job's state allows: pause or resume, and cancel, named after
// the job so a screen reader can tell two cards' buttons apart. Shared by the
// jobs view and the pipeline's stage cards.
import { FINAL_JOB_STATES, type Job } from '../../../shared/api';
import { useJobAction, type JobAction } from '../query/mutations';
import { ErrorText } from './ErrorText';

export function JobControls({ job, name }: { job: Pick<Job, 'id' | 'state'>; name: string }) {
  const action = useJobAction();
  if (FINAL_JOB_STATES.includes(job.state)) return null;
  const act = (a: JobAction) => action.mutate({ id: job.id, action: a });
  return (
    <div className="job-actions">
      {job.state === 'paused' ? (
        <button type="button" onClick={() => act('resume')} aria-label={`Resume ${name}`}>
          Resume
        </button>
      ) : (
        <button type="button" onClick={() => act('pause')} aria-label={`Pause ${name}`}>
          Pause
        </button>
      )}
      <button type="button" onClick={() => act('cancel')} aria-label={`Cancel ${name}`}>
        Cancel
      </button>
      <ErrorText error={action.error} />
    </div>
  );
}
