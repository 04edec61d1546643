// The app-wide error display: the error's kind and its message (which names
// the file, field or sample), until the user dismisses it.
import type { WireError } from '../../../shared/api';

export function ErrorBanner({ error, onDismiss }: { error: WireError; onDismiss(): void }) {
  return (
    <div className={`error-banner error-${error.kind}`} role="alert">
      <strong className="error-kind">{error.kind}</strong>
      <span className="error-message">{error.message}</span>
      <button type="button" onClick={onDismiss} aria-label="Dismiss error">
        ✕
      </button>
    </div>
  );
}
