// Loads a schema module in the store worker (see StoreSchema in ./store) and
// checks it has the two exports the worker needs, so a wrong URL fails with
// a message naming the module instead of an undefined table.
import { AppError } from '../../shared/errors';
import { checkMigrationOrder, type Migration } from './migrations';
import type { QueryTable } from './table';

export interface LoadedSchema {
  queries: QueryTable;
  migrations: readonly Migration[];
}

export async function loadSchema(url: string): Promise<LoadedSchema> {
  const mod = (await import(/* @vite-ignore */ url)) as { QUERIES?: unknown; MIGRATIONS?: unknown };
  if (typeof mod.QUERIES !== 'object' || mod.QUERIES === null || !Array.isArray(mod.MIGRATIONS)) {
    throw new AppError(
      'internal',
      `${url} is not a store schema: it must export QUERIES (a query table) and MIGRATIONS (an array)`,
      { subject: url },
    );
  }
  const migrations = mod.MIGRATIONS as readonly Migration[];
  checkMigrationOrder(migrations);
  return { queries: mod.QUERIES as QueryTable, migrations };
}
