// The import dialog: choose a LLaVA JSON/JSONL file with its image folder, or
// a plain folder of images; then follow the import job (progress, rate, ETA)
// and cancel it if needed. Paths are typed: the web mode has no file picker.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { FINAL_JOB_STATES, IMPORT_COUNTS_MEANING, importCountsLine, type ImportSource } from '../../../shared/api';
import { useEscape } from '../hooks/useEscape';
import { useImport, useJobAction } from '../query/mutations';
import { useJob } from '../query/queries';
import { ErrorText } from './ErrorText';
import { JobProgress } from './JobProgress';

interface Props {
  onClose(): void;
}

function ImportForm({ onStarted }: { onStarted(jobId: number): void }) {
  const start = useImport();
  const [kind, setKind] = useState<ImportSource['kind']>('llava');
  const [file, setFile] = useState('');
  const [imagesRoot, setImagesRoot] = useState('');
  const [abortOnProblem, setAbortOnProblem] = useState(false);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const source: ImportSource =
      kind === 'llava' ? { kind, file: file.trim(), imagesRoot: imagesRoot.trim() } : { kind, root: imagesRoot.trim() };
    start.mutate({ source, abortOnProblem }, { onSuccess: (r) => onStarted(r.jobId) });
  };

  return (
    <form onSubmit={submit} className="form">
      <fieldset>
        <legend>Source</legend>
        <label>
          <input type="radio" name="kind" checked={kind === 'llava'} onChange={() => setKind('llava')} /> LLaVA JSON or
          JSONL file
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === 'folder'} onChange={() => setKind('folder')} /> Folder of
          images
        </label>
      </fieldset>
      {kind === 'llava' && (
        <label>
          Dataset file
          <input
            value={file}
            onChange={(e) => setFile(e.target.value)}
            required
            placeholder="/data/llava_v1_5_mix665k.json"
          />
        </label>
      )}
      <label>
        Image folder
        <input value={imagesRoot} onChange={(e) => setImagesRoot(e.target.value)} required placeholder="/data/images" />
      </label>
      <label className="check">
        <input type="checkbox" checked={abortOnProblem} onChange={(e) => setAbortOnProblem(e.target.checked)} /> Stop at
        the first problem
      </label>
      <ErrorText error={start.error} />
      <button type="submit" disabled={start.isPending}>
        Start import
      </button>
    </form>
  );
}

function ImportRun({ jobId }: { jobId: number }) {
  const job = useJob(jobId).data;
  const action = useJobAction();
  if (job === undefined) return <p role="status">Starting…</p>;
  const finished = FINAL_JOB_STATES.includes(job.state);
  const summary = job.kind === 'import' && job.state === 'done' ? job.result : null;
  return (
    <div className="import-run">
      <p role="status" aria-label="Import state">
        {job.label}: <strong>{job.state}</strong>
      </p>
      <JobProgress progress={job.progress} label="Import progress" />
      {summary !== null && (
        <div>
          <p aria-label="Import counts">{importCountsLine(summary)}</p>
          <p className="muted">{IMPORT_COUNTS_MEANING}</p>
          <p className="next-step" aria-label="Next step">
            Next step: build multi-image questions from these samples with{' '}
            <Link to="/pipeline">Augment on the Pipeline page</Link>.
          </p>
        </div>
      )}
      <ErrorText error={job.error} />
      {!finished && (
        <button type="button" onClick={() => action.mutate({ id: jobId, action: 'cancel' })}>
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
