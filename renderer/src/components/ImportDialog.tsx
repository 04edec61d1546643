// The import dialog: choose a LLaVA JSON/JSONL file with its image folder, or
// a plain folder of images; then follow the import job (progress, rate, ETA)
// and cancel it if needed. Paths are typed: the web mode has no file picker.
import { useState, type FormEvent } from 'react';
import { FINAL_JOB_STATES, type ImportSource } from '../../../shared/api';
import { useApi, useReportError } from '../api-context';
import { useEscape } from '../hooks/useEscape';
import { useJob } from '../hooks/useJob';
import { JobProgress } from './JobProgress';

interface Props {
  onClose(): void;
}

function ImportForm({ onStarted }: { onStarted(jobId: number): void }) {
  const client = useApi();
  const report = useReportError();
  const [kind, setKind] = useState<ImportSource['kind']>('llava');
  const [file, setFile] = useState('');
  const [imagesRoot, setImagesRoot] = useState('');
  const [abortOnProblem, setAbortOnProblem] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const source: ImportSource = kind === 'llava' ? { kind, file: file.trim(), imagesRoot: imagesRoot.trim() } : { kind, root: imagesRoot.trim() };
    setBusy(true);
    client
      .invoke('dataset.import', { source, abortOnProblem })
      .then((r) => onStarted(r.jobId), report)
      .finally(() => setBusy(false));
  };

  return (
    <form onSubmit={submit} className="form">
      <fieldset>
        <legend>Source</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'llava'} onChange={() => setKind('llava')} /> LLaVA JSON or JSONL file
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'folder'} onChange={() => setKind('folder')} /> Folder of images
        </label>
      </fieldset>
      {kind === 'llava' && (
        <label>
          Dataset file
          <input value={file} onChange={(e) => setFile(e.target.value)} required placeholder="/data/llava_v1_5_mix665k.json" />
        </label>
      )}
      <label>
        Image folder
        <input value={imagesRoot} onChange={(e) => setImagesRoot(e.target.value)} required placeholder="/data/images" />
      </label>
      <label className="check">
        <input type="checkbox" checked={abortOnProblem} onChange={(e) => setAbortOnProblem(e.target.checked)} /> Stop at the first problem
      </label>
      <button type="submit" disabled={busy}>
        Start import
      </button>
    </form>
  );
}

function ImportRun({ jobId }: { jobId: number }) {
  const client = useApi();
  const report = useReportError();
  const job = useJob(jobId);
  if (job === undefined) return <p role="status">Starting…</p>;
  const finished = FINAL_JOB_STATES.includes(job.state);
  const result = job.result as { samples?: number; problems?: number } | null;
  return (
    <div className="import-run">
      <p role="status" aria-label="Import state">
        {job.label}: <strong>{job.state}</strong>
      </p>
      <JobProgress progress={job.progress} label="Import progress" />
      {job.state === 'done' && result !== null && (
        <p>
          Imported {result.samples ?? 0} samples; {result.problems ?? 0} problem entries (see Problems).
        </p>
      )}
      {job.error !== null && (
        <p className="error-text">
          {job.error.kind}: {job.error.message}
        </p>
      )}
      {!finished && (
        <button type="button" onClick={() => client.invoke('jobs.cancel', { id: jobId }).catch(report)}>
          Cancel import
        </button>
      )}
    </div>
  );
}

export function ImportDialog({ onClose }: Props) {
  const [jobId, setJobId] = useState<number | undefined>(undefined);
  useEscape(onClose);
  return (
    <div className="overlay">
      <section className="dialog" role="dialog" aria-modal="true" aria-labelledby="import-title">
        <header className="dialog-header">
          <h2 id="import-title">Import dataset</h2>
          <button type="button" onClick={onClose} aria-label="Close import dialog">
            ✕
          </button>
        </header>
        {jobId === undefined ? <ImportForm onStarted={setJobId} /> : <ImportRun jobId={jobId} />}
      </section>
    </div>
  );
}
