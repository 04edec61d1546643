// Why a project database is open read-only, in the words every refused write
// uses (the store worker's SQLITE_READONLY, the import and pipeline handlers).

/** Damaged, shared beside the process that holds the project, or files this process may not write. */
export type ReadOnlyReason = 'damaged' | 'shared' | 'read-only-files';

/** The clause a message about a refused write gives for each reason. */
export const READ_ONLY_WHY: Record<ReadOnlyReason, string> = {
  damaged: 'it failed its integrity check',
  shared: 'opened to read beside the process that holds the project',
  'read-only-files': 'the project folder or its database file is read-only',
};

/** The clause for a store that is open read-only. */
export function readOnlyWhy(store: { readOnlyReason: ReadOnlyReason | null }): string {
  return READ_ONLY_WHY[store.readOnlyReason ?? 'read-only-files'];
}
