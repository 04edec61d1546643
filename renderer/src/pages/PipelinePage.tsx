// The Pipeline page: the method's eight steps as cards in order (import,
// augment, respond, select, review, train, evaluate, export), each with its
// state, what it has made, the running job's progress, ETA and controls, and
// its form with defaults and a line of explanation per field.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { importCountsLine } from '../../../shared/api';
import { EXPORT_FORMATS, type PipelineOverview } from '../../../shared/pipeline/commands';
import { ErrorText } from '../components/ErrorText';
import { Field } from '../components/Field';
import { ImportDialog } from '../components/ImportDialog';
import { AugmentStage } from '../components/pipeline/AugmentStage';
import { RespondStage } from '../components/pipeline/RespondStage';
import { SelectStage } from '../components/pipeline/SelectStage';
import { StageCard } from '../components/pipeline/StageCard';
import { EVAL_COMMANDS, TRAIN_COMMANDS, hasCommands } from '../lib/available';
import { formatCount } from '../lib/format';
import { stageState } from '../lib/pipeline-stages';
import { useCommand } from '../query/mutations';
import { useLatestJob, usePipelineOverview, useProjectInfo } from '../query/queries';

function ImportStage({ overview, readOnly }: { overview: PipelineOverview; readOnly: boolean }) {
  const job = useLatestJob('import');
  const project = useProjectInfo().data?.project;
  const [importing, setImporting] = useState(false);
  const state = stageState({ job, made: overview.samples, inputReady: true });
  const report = job?.state === 'done' && job.result !== null ? importCountsLine(job.result) : null;
  return (
    <StageCard
      id="import"
      step={1}
      title="Import"
      purpose="Brings single-image instruction data (LLaVA JSON or JSONL, or a folder of images) into the project."
      state={state}
      job={job}
      counts={
        <>
          <p>
            {formatCount(overview.samples)} samples, {formatCount(project?.imageCount ?? 0)} images,{' '}
            {formatCount(project?.problemCount ?? 0)} problems
          </p>
          {report !== null && <p className="muted">Last import: {report}</p>}
        </>
      }
    >
      <div className="row">
        <button type="button" disabled={readOnly} onClick={() => setImporting(true)}>
          Import dataset…
        </button>
        <Link to="/dataset">Browse the dataset</Link>
      </div>
      {importing && <ImportDialog onClose={() => setImporting(false)} />}
    </StageCard>
  );
}

function ReviewStage({ overview }: { overview: PipelineOverview }) {
  const { pairs } = overview;
  const reviewed = pairs.accepted + pairs.rejected;
  const state = stageState({ made: reviewed, inputReady: pairs.total > 0 });
  return (
    <StageCard
      id="review"
      step={5}
      title="Review"
      purpose="A person checks the pairs with the attention evidence in view: accept, reject or edit each one (optional)."
      state={state === 'done' && pairs.pending > 0 ? 'ready' : state}
      counts={
        <p>
          {formatCount(pairs.pending)} pairs to review, {formatCount(pairs.accepted)} accepted,{' '}
          {formatCount(pairs.rejected)} rejected
        </p>
      }
    >
      <div className="row">
        <Link to="/pairs">Review pairs</Link>
        <Link to="/thresholds">Tune thresholds</Link>
      </div>
    </StageCard>
  );
}

function UnavailableStage({ id, step, title, purpose }: { id: string; step: number; title: string; purpose: string }) {
  return (
    <StageCard
      id={id}
      step={step}
      title={title}
      purpose={purpose}
      state="unavailable"
      counts={<p className="muted">{title} is not available in this version of the app yet.</p>}
    />
  );
}

function TrainStage({ overview }: { overview: PipelineOverview }) {
  const purpose = 'Teaches the model with the pairs (LoRA DPO) and writes an adapter; runs on the Training page.';
  const job = useLatestJob('train');
  if (!hasCommands(...TRAIN_COMMANDS)) return <UnavailableStage id="train" step={6} title="Train" purpose={purpose} />;
  const steps = job?.result?.steps ?? 0;
  return (
    <StageCard
      id="train"
      step={6}
      title="Train"
      purpose={purpose}
      state={stageState({ job, made: steps, inputReady: overview.exportable > 0 })}
      job={job}
      counts={
        <p>
          {formatCount(overview.exportable)} pairs ready for training
          {job?.state === 'done' && job.result !== null
            ? `; last run: ${formatCount(steps)} steps, adapter in ${job.result.out}`
            : ''}
        </p>
      }
    >
      <Link to="/training">Open training</Link>
    </StageCard>
  );
}

function EvaluateStage() {
  const purpose = 'Measures the base model and each adapter on multi-image benchmarks; runs on the Evaluation page.';
  const job = useLatestJob('eval');
  if (!hasCommands(...EVAL_COMMANDS))
    return <UnavailableStage id="evaluate" step={7} title="Evaluate" purpose={purpose} />;
  const result = job?.state === 'done' ? job.result : null;
  return (
    <StageCard
      id="evaluate"
      step={7}
      title="Evaluate"
      purpose={purpose}
      state={stageState({ job, made: result === null ? 0 : 1, inputReady: true })}
      job={job}
      counts={
        <p>
          {result === null
            ? 'No evaluation finished yet.'
            : `Last run: ${formatCount(result.correct)} of ${formatCount(result.answered)} right (${(100 * result.accuracy).toFixed(1)}%)`}
        </p>
      }
    >
      <Link to="/evaluation">Open evaluation</Link>
    </StageCard>
  );
}

const EXPORT_LABELS: Record<(typeof EXPORT_FORMATS)[number], string> = {
  mia: 'MIA-DPO JSON (the paper’s training scripts)',
  trl: 'TRL DPOTrainer JSONL',
  llamafactory: 'LLaMA-Factory sharegpt',
};

function ExportStage({ overview }: { overview: PipelineOverview }) {
  const run = useCommand('pipeline.export');
  const [format, setFormat] = useState<(typeof EXPORT_FORMATS)[number]>('mia');
  const [out, setOut] = useState('export');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    run.mutate({ format, out: out.trim() });
  };
  return (
    <StageCard
      id="export"
      step={8}
      title="Export"
      purpose="Writes the kept pairs that no person rejected, with their images, for training elsewhere."
      state={run.isSuccess ? 'done' : stageState({ made: 0, inputReady: overview.exportable > 0 })}
      counts={<p>{formatCount(overview.exportable)} pairs to export</p>}
    >
      <form className="stage-form" onSubmit={submit} aria-label="Export settings">
        <Field label="Export format" hint="The file layout of the training tool that will read the pairs.">
          {(p) => (
            <select {...p} value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
              {EXPORT_FORMATS.map((f) => (
                <option key={f} value={f}>
                  {EXPORT_LABELS[f]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Export folder" hint="Where the files go; a relative folder is inside the project folder.">
          {(p) => <input {...p} value={out} required onChange={(e) => setOut(e.target.value)} />}
        </Field>
        <ErrorText error={run.error} />
        {run.data !== undefined && (
          <p role="status" aria-label="Export result">
            Wrote {formatCount(run.data.pairs)} pairs to {run.data.files.join(', ')}
          </p>
        )}
        <button type="submit" className="primary" disabled={run.isPending || overview.exportable === 0}>
          Export pairs
        </button>
      </form>
    </StageCard>
  );
}

export function PipelinePage() {
  const overview = usePipelineOverview().data;
  const readOnly = useProjectInfo().data?.project?.readOnly ?? true;
  if (overview === undefined) return <p role="status">Loading the pipeline…</p>;
  return (
    <div className="pipeline">
      <h1 className="visually-hidden">Pipeline</h1>
      <div className="stages">
        <ImportStage overview={overview} readOnly={readOnly} />
        <AugmentStage overview={overview} readOnly={readOnly} />
        <RespondStage overview={overview} readOnly={readOnly} />
        <SelectStage overview={overview} readOnly={readOnly} />
        <ReviewStage overview={overview} />
        <TrainStage overview={overview} />
        <EvaluateStage />
        <ExportStage overview={overview} />
      </div>
    </div>
  );
}
