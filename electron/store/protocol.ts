// Messages between the store client (any thread) and the store worker (owner
// of the one connection): tagged unions with a sequence number, errors as data.
import type { WireError } from '../../shared/api';

export type StoreRequest =
  | { type: 'query'; seq: number; method: string; args: unknown }
  | { type: 'close'; seq: number };

export type StoreReply = { type: 'result'; seq: number; value: unknown } | { type: 'error'; seq: number; error: WireError };

/** Sent once after the worker opened the database (or failed to). */
export type StoreReady =
  | { type: 'ready'; readOnly: boolean; damage: string | null; version: number }
  | { type: 'failed'; error: WireError };

export interface StoreWorkerData {
  file: string;
  create: boolean;
  /** Open read-only beside the process that holds the project (see OpenOptions in ./database). */
  readOnly: boolean;
  /** URL of the schema module (see StoreSchema in ./store): the worker imports its QUERIES and MIGRATIONS. */
  schema: string;
}
