// The weight-format select of the respond and evaluation forms (issue 15): the
// choices and their one-line labels come from shared/weights.ts; the engine
// says which format `auto` picked and why in the job's log.
import { WEIGHT_CHOICES, WEIGHT_LABELS, type WeightsChoice } from '../../../shared/weights';
import { Field } from './Field';

export function WeightsField({ value, onChange }: { value: WeightsChoice; onChange(v: WeightsChoice): void }) {
  return (
    <Field
      label="Weight format"
      hint="How the model's weights are held: int8/int4 need far less memory (quantized once and cached); fp16 needs a GPU that computes in it."
    >
      {(p) => (
        <select {...p} value={value} onChange={(e) => onChange(e.target.value as WeightsChoice)}>
          {WEIGHT_CHOICES.map((c) => (
            <option key={c} value={c}>
              {WEIGHT_LABELS[c]}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
