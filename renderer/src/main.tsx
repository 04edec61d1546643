// Entry of the UI: picks the transport (Electron IPC or the local web mode),
// wraps it in the typed API client, and renders the app. A start-up failure
// (e.g. the URL lacks its token) is shown instead of a blank page.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApiClient } from '../../shared/api';
import { toAppError } from '../../shared/errors';
import { App } from './App';
import { ErrorBanner } from './components/ErrorBanner';
import { pickTransport } from './transport/pick';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
try {
  const { transport } = pickTransport({ api: (window as { api?: unknown }).api, location: window.location });
  root.render(
    <StrictMode>
      <App client={createApiClient(transport)} />
    </StrictMode>,
  );
} catch (e) {
  root.render(<ErrorBanner error={toAppError(e).toJSON()} onDismiss={() => undefined} />);
}
