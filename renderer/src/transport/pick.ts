// Chooses the transport once at start-up: the preload's `window.api` inside
// Electron (IPC), else the local web mode with the token from the page URL.
// Nothing else in the UI knows which one it runs on.
import type { ApiTransport } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { webTransport } from './web';

export interface StartupEnvironment {
  /** What the preload exposed, if anything. */
  api?: unknown;
  location: { origin: string; search: string };
}

function isTransport(x: unknown): x is ApiTransport {
  const t = x as Partial<ApiTransport> | null;
  if (typeof t !== 'object' || t === null) return false;
  return (
    typeof t.invoke === 'function' &&
    typeof t.onEvent === 'function' &&
    typeof t.imageUrl === 'function' &&
    typeof t.compositeUrl === 'function' &&
    typeof t.seenUrl === 'function'
  );
}

export function pickTransport(env: StartupEnvironment): { kind: 'ipc' | 'web'; transport: ApiTransport } {
  if (env.api !== undefined) {
    if (!isTransport(env.api))
      throw new AppError('internal', 'window.api from the preload lacks invoke/onEvent/imageUrl/compositeUrl/seenUrl');
    return { kind: 'ipc', transport: env.api };
  }
  const token = new URLSearchParams(env.location.search).get('token');
  if (token === null || token === '') {
    throw new AppError(
      'bad-input',
      'This page needs the access token: open the full URL that `mia-dpo serve` printed (it ends in ?token=...).',
    );
  }
  return { kind: 'web', transport: webTransport({ origin: env.location.origin, token }) };
}
