// Errors as sentences a curator understands, in one place: every error kind
// has a plain lead-in, followed by the engine's message (which names the file,
// field or sample). Dialogs and forms show these inline; the banner too.
import type { WireError } from '../../../shared/api';
import { toAppError, type ErrorKind } from '../../../shared/errors';

const LEAD: Record<ErrorKind, string> = {
  'bad-input': 'Some of what was entered is not valid',
  unauthorized: 'This page is not connected with its access token; open the full link that `mia-dpo serve` printed',
  forbidden: 'The engine refused a request that did not come from this app',
  'bad-file': 'A file is damaged or not in the expected format',
  'not-found': 'Something could not be found',
  unsupported: 'This version of the app cannot handle this',
  conflict: 'This cannot be done right now',
  cancelled: 'The work was stopped',
  runtime: 'The model could not be run',
  internal: 'Something went wrong inside the app; please report it with the details below',
};

/** The lead-in for an error kind, e.g. "Something could not be found". */
export function errorLead(kind: ErrorKind): string {
  return LEAD[kind];
}

/** One sentence: the lead-in and the engine's message, e.g. "Something could not be found: /data/a.json does not exist." */
export function errorSentence(error: WireError): string {
  const message = error.message.trim();
  return `${LEAD[error.kind]}: ${message}${/[.!?]$/.test(message) ? '' : '.'}`;
}

/** Anything thrown or rejected, as the wire form errorSentence reads. */
export function wireErrorOf(e: unknown): WireError {
  return toAppError(e).toJSON();
}
