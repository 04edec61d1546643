// Errors as values: every failure the user can see has a kind (for code to
// branch on) and a message a person can act on, naming the file or item.
// Shared by the engine, the pipeline, the store and the UI.
import { z } from 'zod';

export const ERROR_KINDS = [
  'bad-input', // malformed user data: JSON, images, config fields
  'unauthorized', // a request without the session token, or with a wrong one (HTTP 401)
  'forbidden', // a request from a Host or Origin that is not the local server itself (HTTP 403)
  'bad-file', // a file that exists but is truncated, corrupt or of the wrong format
  'not-found', // a file, project, sample or model that is not there
  'unsupported', // valid input this version cannot handle (architecture, dtype)
  'conflict', // state does not allow the request (job already running, newer database)
  'cancelled', // the user stopped the work
  'runtime', // the ML runtime failed (session creation, execution provider)
  'internal', // a bug: an invariant broke
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** An error as it crosses a thread, process or network boundary: AppError's `toJSON()` form. */
export const WireError = z.object({
  kind: z.enum(ERROR_KINDS),
  message: z.string(),
  subject: z.string().optional(),
});
export type WireError = z.infer<typeof WireError>;

export class AppError extends Error {
  readonly kind: ErrorKind;
  /** The file, sample or field the error is about, when there is one. */
  readonly subject: string | undefined;

  constructor(kind: ErrorKind, message: string, options: { subject?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.subject = options.subject;
  }

  toJSON(): WireError {
    return this.subject === undefined
      ? { kind: this.kind, message: this.message }
      : { kind: this.kind, message: this.message, subject: this.subject };
  }
}

/** An AppError rebuilt from its `toJSON()` form after crossing a thread, process or network boundary. */
export function appErrorFromJson(e: WireError): AppError {
  return new AppError(e.kind, e.message, e.subject === undefined ? {} : { subject: e.subject });
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Any thrown value as an AppError; unknown errors become `internal`. */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new AppError('internal', message, { cause: e });
}
