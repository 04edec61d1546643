// The app-wide error display for errors no form or dialog owns (a page that
// failed to load): the error as a sentence (lib/error-text.ts) whose message
// names the file, field or sample, until the user dismisses it.
import type { WireError } from '../../../shared/api';
import { errorLead } from '../lib/error-text';

export function ErrorBanner({ error, onDismiss }: { error: WireError; onDismiss(): void }) {
  return (
    <div className={`error-banner error-${error.kind}`} role="alert">
      <strong className="error-lead">{errorLead(error.kind)}:</strong>
      <span className="error-message">{error.message}</span>
      <button type="button" onClick={onDismiss} aria-label="Dismiss error">
        ✕
      </button>
    </div>
  );
}
