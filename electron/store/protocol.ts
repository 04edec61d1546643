// Requests between the store client (any thread) and the store worker (owner
// of the one connection), carried by the one typed RPC (common/rpc.ts).
import type { WireError } from '../../shared/errors';
import type { ReadOnlyReason } from './read-only';

export type StoreCalls = {
  query: { args: { method: string; args: unknown }; result: unknown };
  /** Closes the connection; the worker ends after the reply. */
  close: { args: Record<string, never>; result: null };
};

/** Posted once, unsolicited, after the worker opened the database (or failed to). */
export type StoreReady =
  | { type: 'ready'; readOnly: boolean; reason: ReadOnlyReason | null; damage: string | null; version: number }
  | { type: 'failed'; error: WireError };

export interface StoreWorkerData {
  file: string;
  create: boolean;
  /** Open read-only beside the process that holds the project (see OpenOptions in ./database). */
  readOnly: boolean;
  /** URL of the schema module (see StoreSchema in ./store): the worker imports its QUERIES and MIGRATIONS. */
  schema: string;
}
