// The training form: every option of a run with the reference run's defaults
// (read from the TrainOptions schema, the one source of them) and one line of
// explanation each. Starting queues the reference log-prob job and the train
// job; errors (a missing folder, no kept pairs) show in the form.
import { useMemo, useState, type FormEvent } from 'react';
import { EP_CHOICES } from '../../../../shared/ep';
import { TRAIN_WEIGHT_CHOICES } from '../../../../shared/weights';
import {
  DPO_LOSSES,
  LORA_DEFAULTS,
  LR_SCHEDULES,
  TrainOptions,
  type TrainOptionsIn,
} from '../../../../shared/pipeline/train';
import { queryKeys } from '../../query/keys';
import { useCommand } from '../../query/mutations';
import { useModelInspection } from '../../query/queries';
import { InspectionView } from '../pipeline/RespondStage';
import { ErrorText } from '../ErrorText';
import { Field } from '../Field';

type Key = keyof TrainOptionsIn;
interface Spec {
  key: Key;
  label: string;
  hint: string;
  kind: 'int' | 'number' | 'text' | 'choice' | 'bool';
  choices?: readonly string[];
  /** Empty is allowed (the option is left out). */
  optional?: boolean;
}

/** The options shown, in order; the rest keep their defaults. */
const FIELDS: Spec[] = [
  {
    key: 'model',
    label: 'Base model folder',
    hint: 'The llava-hf or InternLM-XComposer-2.5 model the adapter is trained for.',
    kind: 'text',
  },
  {
    key: 'out',
    label: 'Output folder',
    hint: 'The final adapter goes here, its checkpoints in checkpoints/ inside; a rerun continues from them.',
    kind: 'text',
  },
  {
    key: 'pairs',
    label: 'Pairs file (optional)',
    hint: 'A JSONL file of pairs; empty trains on this project’s kept pairs that no person rejected.',
    kind: 'text',
    optional: true,
  },
  {
    key: 'steps',
    label: 'Steps',
    hint: 'Optimizer steps to train; empty trains for the epochs below.',
    kind: 'int',
    optional: true,
  },
  {
    key: 'epochs',
    label: 'Epochs',
    hint: 'Passes over the pairs when steps is empty (one by default).',
    kind: 'number',
    optional: true,
  },
  {
    key: 'lr',
    label: 'Learning rate',
    hint: 'Peak step size (5e-5 in the paper); lower it if the loss jumps.',
    kind: 'number',
  },
  {
    key: 'beta',
    label: 'Beta',
    hint: 'How far the model may move from the reference; higher is more conservative.',
    kind: 'number',
  },
  {
    key: 'loss',
    label: 'Loss',
    hint: 'The DPO loss: sigmoid as the paper, or a variant.',
    kind: 'choice',
    choices: DPO_LOSSES,
  },
  { key: 'batch', label: 'Pairs per batch', hint: 'Pairs in one forward pass; memory grows with it.', kind: 'int' },
  {
    key: 'gradAccum',
    label: 'Gradient accumulation',
    hint: 'Batches added up per step: the effective batch is batch × this.',
    kind: 'int',
  },
  {
    key: 'schedule',
    label: 'Schedule',
    hint: 'How the learning rate changes over the run after warm-up.',
    kind: 'choice',
    choices: LR_SCHEDULES,
  },
  {
    key: 'warmupRatio',
    label: 'Warm-up ratio',
    hint: 'Share of the steps over which the learning rate rises from 0.',
    kind: 'number',
  },
  {
    key: 'loraR',
    label: 'LoRA rank',
    hint: 'Size of the adapter (128 in the paper); smaller trains faster, learns less.',
    kind: 'int',
  },
  {
    key: 'loraAlpha',
    label: 'LoRA alpha',
    hint: 'Scale of the adapter’s update (twice the rank in the paper).',
    kind: 'number',
  },
  {
    key: 'loraDropout',
    label: 'LoRA dropout',
    hint: 'Share of adapter inputs dropped while training, against overfitting.',
    kind: 'number',
  },
  {
    key: 'sftWeight',
    label: 'SFT weight',
    hint: 'Adds learning the chosen answers themselves; 0 is pure DPO.',
    kind: 'number',
  },
  {
    key: 'checkpointEvery',
    label: 'Checkpoint every',
    hint: 'Steps between checkpoints (and one at the end).',
    kind: 'int',
  },
  { key: 'seed', label: 'Seed', hint: 'The same seed, data and options train the same adapter.', kind: 'int' },
  {
    key: 'ep',
    label: 'Execution provider',
    hint: 'Where training runs; automatic picks the fastest available.',
    kind: 'choice',
    choices: EP_CHOICES,
  },
  {
    key: 'weights',
    label: 'Base weights',
    hint: 'How the frozen model is held: fp32, or int8/int4 (QLoRA-style, far less memory); automatic picks by free memory.',
    kind: 'choice',
    choices: TRAIN_WEIGHT_CHOICES,
  },
  {
    key: 'checkpointing',
    label: 'Gradient checkpointing',
    hint: 'Recomputes each layer in the backward pass: much less memory for a longer step; the result is the same.',
    kind: 'bool',
  },
];

/** The schema's defaults, as the form's initial strings. */
function defaults(): Record<string, string> {
  const d: Record<string, unknown> = { ...LORA_DEFAULTS, ...TrainOptions.parse({ model: 'm', out: 'o' }) };
  return Object.fromEntries(
    FIELDS.map((f) => [f.key, f.key === 'model' || f.key === 'out' || d[f.key] === undefined ? '' : String(d[f.key])]),
  );
}

export function TrainForm({ readOnly }: { readOnly: boolean }) {
  const initial = useMemo(defaults, []);
  const [values, setValues] = useState(initial);
  const [inspected, setInspected] = useState('');
  const inspection = useModelInspection(inspected);
  const start = useCommand('train.start', [queryKeys.train]);
  const set = (key: string, value: string) => setValues((v) => ({ ...v, [key]: value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const request: Record<string, unknown> = {};
    for (const f of FIELDS) {
      const v = (values[f.key] ?? '').trim();
      if (v === '') continue;
      request[f.key] = f.kind === 'int' || f.kind === 'number' ? Number(v) : f.kind === 'bool' ? v === 'true' : v;
    }
    start.mutate(request as TrainOptionsIn);
  };

  return (
    <form className="stage-form train-form" onSubmit={submit} aria-label="Training settings">
      <div className="form-grid">
        {FIELDS.map((f) => (
          <Field key={f.key} label={f.label} hint={f.hint}>
            {(p) =>
              f.kind === 'bool' ? (
                <input
                  {...p}
                  type="checkbox"
                  checked={values[f.key] === 'true'}
                  onChange={(e) => set(f.key, String(e.target.checked))}
                />
              ) : f.kind === 'choice' ? (
                <select {...p} value={values[f.key]} onChange={(e) => set(f.key, e.target.value)}>
                  {f.choices!.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              ) : (
                <input
                  {...p}
                  type={f.kind === 'text' ? 'text' : 'number'}
                  step={f.kind === 'int' ? 1 : 'any'}
                  min={f.kind === 'text' ? undefined : 0}
                  required={f.kind === 'text' && f.optional !== true}
                  value={values[f.key]}
                  onChange={(e) => set(f.key, e.target.value)}
                  onBlur={f.key === 'model' ? () => setInspected((values.model ?? '').trim()) : undefined}
                />
              )
            }
          </Field>
        ))}
      </div>
      {inspection.data !== undefined && !inspection.isFetching && <InspectionView inspection={inspection.data} />}
      <ErrorText error={start.error ?? inspection.error} />
      {start.data !== undefined && (
        <p role="status" aria-label="Training started">
          Training run {start.data.runId} queued
          {start.data.referenceJobId !== null ? ' (the reference model scores the pairs first)' : ''}.
        </p>
      )}
      <div className="row">
        <button
          type="submit"
          className="primary"
          disabled={readOnly || start.isPending || inspection.data?.supported === false}
        >
          Start training
        </button>
        <button type="button" onClick={() => setValues(initial)}>
          Reset to the paper’s defaults
        </button>
      </div>
    </form>
  );
}
