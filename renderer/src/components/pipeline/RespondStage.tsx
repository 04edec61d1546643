// Stage 3, respond: the model answers every augmented sample not answered yet,
// and the attention it pays to each image is recorded. The form: the model
// folder (inspected when entered, so a curator sees what it is before a long
// run), execution provider, attention layer, answer length, perturbation and
// image preprocessing.
import { useState, type FormEvent } from 'react';
import { EP_CHOICES, type EpChoice } from '../../../../shared/ep';
import type { WeightsChoice } from '../../../../shared/weights';
import { WeightsField } from '../WeightsField';
import type { ModelInspection } from '../../../../shared/api';
import type { PipelineOverview } from '../../../../shared/pipeline/commands';
import { formatCount } from '../../lib/format';
import { canStart, stageState } from '../../lib/pipeline-stages';
import { useCommand } from '../../query/mutations';
import { useLatestJob, useModelInspection } from '../../query/queries';
import { ErrorText } from '../ErrorText';
import { CheckField, Field } from '../Field';
import { StageCard } from './StageCard';

const EP_LABELS: Record<EpChoice, string> = {
  auto: 'Automatic (CUDA, then WebGPU, then CPU)',
  cpu: 'CPU',
  webgpu: 'WebGPU',
  cuda: 'CUDA (NVIDIA GPU)',
};

function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  return `${(n / 1e3).toFixed(1)} k`;
}

/**
 * Image tokens: llava-hf's fixed count, or IXC2.5's range (the HD transform gives each image its own count: one crop
 * plus the global view at the fewest, hd_num crops for one image and hd_num_multi each for several at the most).
 */
function imageTokens(i: Extract<ModelInspection, { supported: true }>): string {
  const x = i.ixc;
  if (x === undefined) return `${i.image_tokens_per_image} tokens per image`;
  return `${formatCount(x.image_tokens.min)} to ${formatCount(x.image_tokens.max)} tokens per image (HD crops of ${x.crop_size} px: up to ${x.hd_num} for one image, ${x.hd_num_multi} each for several, at most ${formatCount(x.image_tokens.max_multi)} tokens)`;
}

export function InspectionView({ inspection }: { inspection: ModelInspection }) {
  if (!inspection.supported)
    return (
      <p role="alert" className="error-text" aria-label="Model inspection">
        This folder cannot be used: {inspection.reason}
      </p>
    );
  const i = inspection;
  return (
    <p className="inspection" aria-label="Model inspection">
      {i.architecture.text} language model with a {i.architecture.vision} vision tower, {formatParams(i.parameters)}{' '}
      parameters ({i.dtype}), {i.text.layers} layers, {imageTokens(i)}; attention read at layer{' '}
      {i.default_attention_layer} unless set below. {i.chat_template ? 'Has a chat template.' : 'No chat template.'}
      {i.can_generate === false ? ` ${i.note ?? 'This version cannot generate with it yet.'}` : ''}
    </p>
  );
}

export function RespondStage({ overview, readOnly }: { overview: PipelineOverview; readOnly: boolean }) {
  const job = useLatestJob('respond');
  const start = useCommand('pipeline.respond');
  const [model, setModel] = useState('');
  const [inspected, setInspected] = useState('');
  const inspection = useModelInspection(inspected);
  const [ep, setEp] = useState<EpChoice>('auto');
  const [weights, setWeights] = useState<WeightsChoice>('auto');
  const [layer, setLayer] = useState('');
  const [maxNewTokens, setMaxNewTokens] = useState('512');
  const [perturb, setPerturb] = useState(true);
  const [aspect, setAspect] = useState<'pad' | 'crop'>('pad');
  const state = stageState({ job, made: overview.generations, inputReady: overview.augmented.total > 0 });
  const remaining = Math.max(0, overview.augmented.total - overview.generations);
  const defaultLayer = inspection.data?.supported ? inspection.data.default_attention_layer : undefined;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate({
      model: model.trim(),
      ep,
      weights,
      maxNewTokens: Number(maxNewTokens),
      perturb,
      aspect,
      ...(layer.trim() === '' ? {} : { layer: Number(layer) }),
    });
  };

  return (
    <StageCard
      id="respond"
      step={3}
      title="Respond"
      purpose="The model answers each augmented question; where its attention goes shows whether it looked at the right image."
      state={state}
      job={job}
      counts={
        <p>
          {formatCount(overview.generations)} of {formatCount(overview.augmented.total)} augmented samples answered
          {remaining > 0 && overview.generations > 0 ? ` (${formatCount(remaining)} to go)` : ''}
        </p>
      }
    >
      <form className="stage-form" onSubmit={submit} aria-label="Respond settings">
        <Field
          label="Model folder"
          hint="A llava-hf or InternLM-XComposer-2.5 model folder (config.json, safetensors, tokenizer); checked when you leave the field."
        >
          {(p) => (
            <input
              {...p}
              value={model}
              required
              placeholder="/models/llava-1.5-7b-hf"
              onChange={(e) => setModel(e.target.value)}
              onBlur={() => setInspected(model.trim())}
            />
          )}
        </Field>
        {inspection.isFetching && <p role="status">Inspecting the model…</p>}
        {inspection.data !== undefined && !inspection.isFetching && <InspectionView inspection={inspection.data} />}
        <ErrorText error={inspection.error} />
        <Field label="Execution provider" hint="Where the model runs; automatic picks the fastest one available.">
          {(p) => (
            <select {...p} value={ep} onChange={(e) => setEp(e.target.value as EpChoice)}>
              {EP_CHOICES.map((c) => (
                <option key={c} value={c}>
                  {EP_LABELS[c]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <WeightsField value={weights} onChange={setWeights} />
        <Field
          label="Attention layer"
          hint="Decoder layer whose attention decides which image the model looked at; empty: the middle layer."
        >
          {(p) => (
            <input
              {...p}
              type="number"
              min={0}
              step={1}
              value={layer}
              placeholder={defaultLayer === undefined ? 'middle layer' : `${defaultLayer} (middle)`}
              onChange={(e) => setLayer(e.target.value)}
            />
          )}
        </Field>
        <Field label="Maximum answer length" hint="New tokens at most per answer (512 as in the paper).">
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              value={maxNewTokens}
              onChange={(e) => setMaxNewTokens(e.target.value)}
            />
          )}
        </Field>
        <CheckField
          label="Perturb images"
          hint="Adds the paper's noise to the target image (grid, pic-in-pic) so a confused model shows it; on by default."
          checked={perturb}
          onChange={setPerturb}
        />
        <Field
          label="Image preprocessing"
          hint="How each image is fitted to the vision tower: pad keeps all of a collage, crop cuts its edges."
        >
          {(p) => (
            <select {...p} value={aspect} onChange={(e) => setAspect(e.target.value as 'pad' | 'crop')}>
              <option value="pad">Pad to square (as the paper)</option>
              <option value="crop">Centre crop</option>
            </select>
          )}
        </Field>
        <ErrorText error={start.error} />
        <button
          type="submit"
          className="primary"
          disabled={
            readOnly ||
            !canStart(state) ||
            overview.augmented.total === 0 ||
            start.isPending ||
            inspection.data?.supported === false
          }
        >
          Start answering
        </button>
      </form>
    </StageCard>
  );
}
