// A form field with its label and one line saying what it does, tied to the
// control (label + aria-describedby) so the explanation is read with it.
import { useId, type ReactNode } from 'react';

export interface FieldControlProps {
  id: string;
  'aria-describedby': string;
}

export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint: string;
  children(props: FieldControlProps): ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': hintId })}
      <small id={hintId} className="hint">
        {hint}
      </small>
    </div>
  );
}

/** A checkbox with its label beside it and the explanation below. */
export function CheckField({
  label,
  hint,
  checked,
  onChange,
}: {
  label: string;
  hint: string;
  checked: boolean;
  onChange(checked: boolean): void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label className="check">
        <input type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby={id} />{' '}
        {label}
      </label>
      <small id={id} className="hint">
        {hint}
      </small>
    </div>
  );
}
