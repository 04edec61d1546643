// An error shown where it happened (in the form or dialog that caused it), as
// a sentence (lib/error-text.ts), announced to screen readers.
import type { WireError } from '../../../shared/api';
import { errorSentence, wireErrorOf } from '../lib/error-text';

export function ErrorText({ error }: { error: WireError | Error | null | undefined }) {
  if (error === null || error === undefined) return null;
  const wire = error instanceof Error ? wireErrorOf(error) : error;
  return (
    <p role="alert" className="error-text">
      {errorSentence(wire)}
    </p>
  );
}
