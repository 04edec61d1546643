// The HTTP status of each AppError kind, shared by the transports that answer
// over HTTP-like protocols: the local web server and Electron's app:// handler.
import type { ErrorKind } from '../../../shared/errors';

const STATUS_OF_KIND: Record<ErrorKind, number> = {
  'bad-input': 400,
  unauthorized: 401,
  forbidden: 403,
  'bad-file': 422,
  'not-found': 404,
  unsupported: 422,
  conflict: 409,
  cancelled: 409,
  runtime: 500,
  internal: 500,
};

export function statusOfKind(kind: ErrorKind): number {
  return STATUS_OF_KIND[kind];
}
