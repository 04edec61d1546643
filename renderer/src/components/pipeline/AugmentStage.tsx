// Stage 2, augment: make multi-image samples (sequence, grid collage,
// pic-in-pic) from the imported ones. The form: how many, the format mix
// (saved in the project's settings) and the seed.
import { useState, type FormEvent } from 'react';
import type { PipelineOverview } from '../../../../shared/pipeline/commands';
import { FORMATS, type Format } from '../../../../shared/pipeline/formats';
import { formatCount } from '../../lib/format';
import { FORMAT_LABELS } from '../../lib/labels';
import { canStart, stageState } from '../../lib/pipeline-stages';
import { queryKeys } from '../../query/keys';
import { useCommand } from '../../query/mutations';
import { useLatestJob, usePipelineSettings } from '../../query/queries';
import { ErrorText } from '../ErrorText';
import { Field } from '../Field';
import { StageCard } from './StageCard';

const MIX_HINTS: Record<Format, string> = {
  sequence: 'Relative weight of sequences: several images side by side in the prompt.',
  grid: 'Relative weight of grid collages: the images tiled into one picture with Image1, Image2… labels.',
  pip: 'Relative weight of pic-in-pic: one image inset into another. 0 leaves a format out.',
};

export function AugmentStage({ overview, readOnly }: { overview: PipelineOverview; readOnly: boolean }) {
  const job = useLatestJob('augment');
  const settings = usePipelineSettings().data?.settings;
  const saveMix = useCommand('pipeline.settings.set', [queryKeys.pipelineSettings]);
  const start = useCommand('pipeline.augment');
  const [count, setCount] = useState('');
  const [seed, setSeed] = useState('0');
  const [mix, setMix] = useState<Partial<Record<Format, string>>>({});
  const state = stageState({ job, made: overview.augmented.total, inputReady: overview.samples > 0 });
  const weight = (f: Format) => mix[f] ?? String(settings?.mix.formats[f] ?? '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    saveMix.reset();
    start.reset();
    try {
      if (Object.keys(mix).length > 0) {
        const formats = Object.fromEntries(FORMATS.map((f) => [f, Number(weight(f))]));
        await saveMix.mutateAsync({ patch: { mix: { formats } } });
        setMix({});
      }
      await start.mutateAsync({ seed: Number(seed), ...(count.trim() === '' ? {} : { count: Number(count) }) });
    } catch {
      // Shown in the form by ErrorText.
    }
  };

  const { byFormat } = overview.augmented;
  return (
    <StageCard
      id="augment"
      step={2}
      title="Augment"
      purpose="Builds multi-image questions from single-image samples: the model must find the image the question is about."
      state={state}
      job={job}
      counts={
        <p>
          {formatCount(overview.augmented.total)} augmented samples ({formatCount(byFormat.sequence)} sequence,{' '}
          {formatCount(byFormat.grid)} grid, {formatCount(byFormat.pip)} pic-in-pic)
        </p>
      }
    >
      <form className="stage-form" onSubmit={submit} aria-label="Augment settings">
        <Field label="How many" hint="Number of augmented samples to make; empty uses every imported sample once.">
          {(p) => (
            <input
              {...p}
              type="number"
              min={1}
              step={1}
              value={count}
              placeholder="all"
              onChange={(e) => setCount(e.target.value)}
            />
          )}
        </Field>
        <Field label="Seed" hint="The same seed and data give the same samples again.">
          {(p) => (
            <input {...p} type="number" min={0} step={1} value={seed} onChange={(e) => setSeed(e.target.value)} />
          )}
        </Field>
        <fieldset className="mix">
          <legend>Format mix</legend>
          {FORMATS.map((f) => (
            <Field key={f} label={FORMAT_LABELS[f]} hint={MIX_HINTS[f]}>
              {(p) => (
                <input
                  {...p}
                  type="number"
                  min={0}
                  step="any"
                  value={weight(f)}
                  onChange={(e) => setMix((m) => ({ ...m, [f]: e.target.value }))}
                />
              )}
            </Field>
          ))}
        </fieldset>
        <ErrorText error={saveMix.error ?? start.error} />
        <button
          type="submit"
          className="primary"
          disabled={readOnly || !canStart(state) || overview.samples === 0 || start.isPending}
        >
          Start augmenting
        </button>
      </form>
    </StageCard>
  );
}
