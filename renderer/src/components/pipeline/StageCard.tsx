// One stage of the Pipeline page: its name and state, what it has made, the
// running job's progress with ETA and its pause / resume / cancel, the last
// run's error as a sentence, and the stage's form (children).
import type { ReactNode } from 'react';
import { FINAL_JOB_STATES, type Job } from '../../../../shared/api';
import { stageStateLabel, type StageState } from '../../lib/pipeline-stages';
import { ErrorText } from '../ErrorText';
import { JobControls } from '../JobControls';
import { JobProgress } from '../JobProgress';

export function StageCard({
  id,
  step,
  title,
  purpose,
  state,
  counts,
  job,
  children,
}: {
  id: string;
  step: number;
  title: string;
  /** One line: what the stage does. */
  purpose: string;
  state: StageState;
  counts: ReactNode;
  job?: Job | undefined;
  children?: ReactNode;
}) {
  const headingId = `stage-${id}`;
  const active = job !== undefined && !FINAL_JOB_STATES.includes(job.state);
  return (
    <section className={`card stage stage-${state}`} aria-labelledby={headingId}>
      <header className="stage-head">
        <h2 id={headingId}>
          <span className="stage-step" aria-hidden="true">
            {step}
          </span>{' '}
          {title}
        </h2>
        <span className={`stage-state state-${state}`} role="status" aria-label={`${title} state`}>
          {stageStateLabel(state)}
        </span>
      </header>
      <p className="muted stage-purpose">{purpose}</p>
      <div className="stage-counts" aria-label={`${title} counts`}>
        {counts}
      </div>
      {active && (
        <div className="stage-job">
          <JobProgress progress={job.progress} label={`${title} progress`} />
          <JobControls job={job} name={title.toLowerCase()} />
        </div>
      )}
      {job !== undefined && job.state === 'failed' && <ErrorText error={job.error} />}
      {children}
    </section>
  );
}
