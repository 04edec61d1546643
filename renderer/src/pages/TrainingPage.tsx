// The Training page: the trainer's form, the runs, and for the chosen run its
// job's progress and controls (pause, resume, stop, continue), live plots of
// loss, rewards, margin, accuracy, learning rate and gradient norm streamed
// from `train.step` events, the collapse warning, the checkpoints and the
// adapter's actions (export, merge: components/training/AdapterActions). Without the train commands it says so.
import { useMemo, useState } from 'react';
import { FINAL_JOB_STATES, type Job } from '../../../shared/api';
import { TrainOptions, type TrainRun } from '../../../shared/pipeline/train';
import { ErrorText } from '../components/ErrorText';
import { JobControls } from '../components/JobControls';
import { JobProgress } from '../components/JobProgress';
import { MetricPlot } from '../components/MetricPlot';
import { AdapterActions } from '../components/training/AdapterActions';
import { TrainForm } from '../components/training/TrainForm';
import { TRAIN_COMMANDS, hasCommands } from '../lib/available';
import { formatCount } from '../lib/format';
import { TRAIN_PLOTS, collapse, collapseNatsOf } from '../lib/train-view';
import { queryKeys } from '../query/keys';
import { useCommand } from '../query/mutations';
import {
  latestJob,
  useJobs,
  useProjectInfo,
  useTrainCheckpoints,
  useTrainMetrics,
  useTrainRuns,
} from '../query/queries';

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

/** The newest train or reference job: what the run is doing now. */
function activeTrainJob(jobs: readonly Job[]): Job | undefined {
  const train = latestJob(jobs, 'train');
  const reference = latestJob(jobs, 'train-reference');
  if (train === undefined) return reference;
  if (reference === undefined) return train;
  return reference.id > train.id && !FINAL_JOB_STATES.includes(reference.state) ? reference : train;
}

function RunPlots({ run }: { run: TrainRun }) {
  const steps = useTrainMetrics(run.id).data?.steps;
  const plots = useMemo(() => {
    const all = steps ?? [];
    const x = all.map((s) => s.step);
    return TRAIN_PLOTS.map((p) => ({
      title: p.title,
      steps: x,
      series: p.series.map((s) => ({ label: s.label, values: all.map((m) => m[s.key] as number) })),
    }));
  }, [steps]);
  const warning = steps === undefined ? null : collapse(steps, collapseNatsOf(run.options));
  return (
    <>
      {warning !== null && (
        <p role="alert" className="warning" aria-label="Collapse warning">
          The chosen answers are becoming less likely than under the reference model ({warning.below.toFixed(1)} nats
          below at step {warning.step}, {warning.count} steps in all): the model may be collapsing. Lower the learning
          rate or raise beta or the SFT weight.
        </p>
      )}
      <div className="plots">
        {plots.map((p) => (
          <MetricPlot key={p.title} title={p.title} steps={p.steps} series={p.series} />
        ))}
      </div>
    </>
  );
}

function Checkpoints({ run, readOnly }: { run: TrainRun; readOnly: boolean }) {
  const checkpoints = useTrainCheckpoints(run.id).data?.checkpoints;
  return (
    <section aria-labelledby="checkpoints-title">
      <h3 id="checkpoints-title">Checkpoints and adapter</h3>
      {run.state === 'done' && (
        <p aria-label="Final adapter">
          Final adapter (PEFT folder): <span className="path">{run.out}</span>
        </p>
      )}
      <AdapterActions run={run} checkpoints={checkpoints ?? []} readOnly={readOnly} />
      {checkpoints === undefined ? (
        <p role="status">Loading checkpoints…</p>
      ) : checkpoints.length === 0 ? (
        <p className="muted">No checkpoint yet.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Checkpoints">
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Folder</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {checkpoints.map((c) => (
                <tr key={c.step}>
                  <td>{c.step}</td>
                  <td className="path">{c.dir}</td>
                  <td>{formatBytes(c.files.reduce((n, f) => n + f.bytes, 0))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RunView({ run, job, readOnly }: { run: TrainRun; job: Job | undefined; readOnly: boolean }) {
  const resume = useCommand('train.start', [queryKeys.train]);
  const options = TrainOptions.safeParse(run.options);
  const active = job !== undefined && !FINAL_JOB_STATES.includes(job.state);
  return (
    <div className="run-view">
      <p aria-label="Run state">
        Run {run.id}: step {formatCount(run.step)} of {formatCount(run.totalSteps)} on {formatCount(run.pairs)} pairs ·{' '}
        {run.state === 'done'
          ? 'finished'
          : active
            ? job.kind === 'train-reference'
              ? 'scoring the pairs with the reference model'
              : job.state
            : 'stopped'}
      </p>
      {active && (
        <>
          <JobProgress progress={job.progress} label="Training progress" />
          <JobControls job={job} name="training" />
        </>
      )}
      {job?.state === 'failed' && <ErrorText error={job.error} />}
      {!active && run.state !== 'done' && options.success && (
        <div className="row">
          <button type="button" onClick={() => resume.mutate(options.data)} disabled={resume.isPending}>
            Continue from the last checkpoint
          </button>
          <ErrorText error={resume.error} />
        </div>
      )}
      <RunPlots run={run} />
      <Checkpoints run={run} readOnly={readOnly} />
    </div>
  );
}

function Training() {
  const readOnly = useProjectInfo().data?.project?.readOnly ?? true;
  const runs = useTrainRuns().data?.runs;
  const jobs = useJobs().data?.jobs ?? [];
  const [chosen, setChosen] = useState<number | undefined>(undefined);
  const ordered = [...(runs ?? [])].sort((a, b) => b.id - a.id);
  const run = ordered.find((r) => r.id === chosen) ?? ordered[0];
  return (
    <div className="training">
      <section className="card" aria-labelledby="train-new-title">
        <h2 id="train-new-title">New training run</h2>
        <p className="muted">
          Trains a LoRA adapter with DPO on the pairs: the model learns to prefer the answer that looked at the right
          image.
        </p>
        <TrainForm readOnly={readOnly} />
      </section>
      <section className="card" aria-labelledby="train-runs-title">
        <div className="row">
          <h2 id="train-runs-title">Runs</h2>
          {ordered.length > 1 && (
            <label>
              Run{' '}
              <select value={run?.id} onChange={(e) => setChosen(Number(e.target.value))}>
                {ordered.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.id}: {r.out}
                  </option>
                ))}
              </select>
            </label>
          )}
        </div>
        {runs === undefined ? (
          <p role="status">Loading runs…</p>
        ) : run === undefined ? (
          <p className="muted">No training run yet: fill in the form and start one.</p>
        ) : (
          <RunView run={run} job={run.id === ordered[0]?.id ? activeTrainJob(jobs) : undefined} readOnly={readOnly} />
        )}
      </section>
    </div>
  );
}

export function TrainingPage() {
  if (!hasCommands(...TRAIN_COMMANDS))
    return (
      <div className="training">
        <section className="card" aria-labelledby="train-na-title">
          <h2 id="train-na-title">Training</h2>
          <p role="status">Training is not available in this version of the app yet.</p>
        </section>
      </div>
    );
  return <Training />;
}
