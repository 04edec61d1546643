// A training run's adapter out of the app: "Export adapter" copies it (or a
// checkpoint's) as a PEFT folder (`train.export`), "Merge into the model" queues
// a model-merge job (`train.merge`) whose progress, controls and result show
// here. Both open a small dialog asking which adapter and the destination
// folder; the command's error shows in the dialog as a sentence. Disabled with
// the reason until the run has finished (and for a merge, in a read-only project).
import { useCallback, useState, type FormEvent } from 'react';
import { FINAL_JOB_STATES, type Job } from '../../../../shared/api';
import type { TrainCheckpoint, TrainRun } from '../../../../shared/pipeline/train';
import { useEscape } from '../../hooks/useEscape';
import { hasCommands } from '../../lib/available';
import { useCommand } from '../../query/mutations';
import { useJobs } from '../../query/queries';
import { ErrorText } from '../ErrorText';
import { Field } from '../Field';
import { JobControls } from '../JobControls';
import { JobProgress } from '../JobProgress';

type Action = 'export' | 'merge';

const TITLES: Record<Action, string> = { export: 'Export adapter', merge: 'Merge into the model' };

/** Why an action cannot run now, or null when it can. */
export function adapterActionBlocked(action: Action, run: Pick<TrainRun, 'state'>, readOnly: boolean): string | null {
  if (!hasCommands(action === 'export' ? 'train.export' : 'train.merge'))
    return 'Not available in this version of the app.';
  if (run.state !== 'done') return 'Available once the run has finished.';
  if (action === 'merge' && readOnly) return 'The project is open read-only: a merge cannot be recorded.';
  return null;
}

/** A destination beside the run's folder, named for what goes there. */
const suggested = (run: TrainRun, action: Action): string =>
  `${run.out.replace(/[\\/]+$/, '')}${action === 'export' ? '-adapter' : '-merged'}`;

function AdapterDialog({
  action,
  run,
  checkpoints,
  onClose,
  onDone,
}: {
  action: Action;
  run: TrainRun;
  checkpoints: readonly TrainCheckpoint[];
  onClose: () => void;
  onDone: (done: { out: string; jobId?: number }) => void;
}) {
  const [out, setOut] = useState(() => suggested(run, action));
  const [source, setSource] = useState('final');
  const exporting = useCommand('train.export');
  const merging = useCommand('train.merge');
  const command = action === 'export' ? exporting : merging;
  useEscape(onClose);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const request = {
      runId: run.id,
      out: out.trim(),
      ...(source === 'final' ? {} : { checkpointStep: Number(source) }),
    };
    if (action === 'export') exporting.mutate(request, { onSuccess: (r) => onDone({ out: r.out }) });
    else merging.mutate(request, { onSuccess: (r) => onDone({ out: request.out, jobId: r.jobId }) });
  };
  const titleId = `adapter-${action}-title`;
  return (
    <div className="overlay">
      <section className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId}>
        <header className="dialog-header">
          <h2 id={titleId}>{TITLES[action]}</h2>
          <button type="button" onClick={onClose} aria-label={`Close ${TITLES[action].toLowerCase()} dialog`}>
            ✕
          </button>
        </header>
        <form onSubmit={submit}>
          <p className="muted">
            {action === 'export'
              ? 'Copies the LoRA adapter as a PEFT folder (adapter_config.json and adapter_model.safetensors) that Hugging Face PEFT and this app load onto the base model.'
              : 'Writes a new model folder: the base model with the adapter folded into its weights, in the base’s format, usable without the adapter.'}
          </p>
          <Field label="Adapter" hint="The run's final adapter, or one of its checkpoints.">
            {(p) => (
              <select {...p} value={source} onChange={(e) => setSource(e.target.value)}>
                <option value="final">Final adapter (step {run.step})</option>
                {checkpoints.map((c) => (
                  <option key={c.step} value={String(c.step)}>
                    Checkpoint at step {c.step}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Destination folder" hint="A new folder (or an empty one); it is created.">
            {(p) => (
              <input {...p} type="text" value={out} onChange={(e) => setOut(e.target.value)} autoFocus required />
            )}
          </Field>
          <ErrorText error={command.error} />
          <button type="submit" disabled={command.isPending || out.trim() === ''}>
            {action === 'export' ? 'Export' : 'Start merge'}
          </button>
        </form>
      </section>
    </div>
  );
}

/** The merge job followed on the page: the one started here, else the newest unfinished or done merge of this run. */
function mergeJobOf(jobs: readonly Job[], runId: number, started: number | undefined): Job | undefined {
  let found: Job | undefined;
  for (const j of jobs) {
    if (j.kind !== 'model-merge') continue;
    // A failed or cancelled job has no result: its label (merge-job.ts) names the run.
    const mine =
      j.id === started ||
      !FINAL_JOB_STATES.includes(j.state) ||
      (j.result === null ? j.label.includes(`of training run ${runId} into `) : j.result.runId === runId);
    if (mine && (found === undefined || j.id > found.id)) found = j;
  }
  return found;
}

function MergeJob({ job }: { job: Job }) {
  const result = job.kind === 'model-merge' ? job.result : null;
  return (
    <div className="merge-job" aria-label="Merge">
      <p role="status" aria-label="Merge state">
        {job.label}: <strong>{job.state}</strong>
      </p>
      {!FINAL_JOB_STATES.includes(job.state) && (
        <>
          <JobProgress progress={job.progress} label="Merge progress" />
          <JobControls job={job} name="merge" />
        </>
      )}
      {job.state === 'done' && result !== null && (
        <p aria-label="Merged model">
          Merged model (a folder of the base's family, {result.files.length} files):{' '}
          <span className="path">{result.out}</span>
        </p>
      )}
      {job.state === 'failed' && <ErrorText error={job.error} />}
    </div>
  );
}

export function AdapterActions({
  run,
  checkpoints,
  readOnly,
}: {
  run: TrainRun;
  checkpoints: readonly TrainCheckpoint[];
  readOnly: boolean;
}) {
  const [open, setOpen] = useState<Action | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [started, setStarted] = useState<number | undefined>(undefined);
  const jobs = useJobs().data?.jobs ?? [];
  const mergeJob = mergeJobOf(jobs, run.id, started);
  const close = useCallback(() => setOpen(null), []);
  const blocked = {
    export: adapterActionBlocked('export', run, readOnly),
    merge: adapterActionBlocked('merge', run, readOnly),
  };
  return (
    <div className="adapter-actions">
      <div className="row">
        {(['export', 'merge'] as const).map((a) => (
          <span key={a} className="action">
            <button
              type="button"
              disabled={blocked[a] !== null}
              aria-describedby={blocked[a] === null ? undefined : `adapter-${a}-why`}
              onClick={() => setOpen(a)}
            >
              {TITLES[a]}
            </button>
            {blocked[a] !== null && (
              <small id={`adapter-${a}-why`} className="muted">
                {' '}
                {blocked[a]}
              </small>
            )}
          </span>
        ))}
      </div>
      {exported !== null && (
        <p role="status" aria-label="Exported adapter">
          Adapter exported (PEFT folder): <span className="path">{exported}</span>
        </p>
      )}
      {mergeJob !== undefined && <MergeJob job={mergeJob} />}
      {open !== null && (
        <AdapterDialog
          action={open}
          run={run}
          checkpoints={checkpoints}
          onClose={close}
          onDone={(d) => {
            if (d.jobId === undefined) setExported(d.out);
            else setStarted(d.jobId);
            setOpen(null);
          }}
        />
      )}
    </div>
  );
}
