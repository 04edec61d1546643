// The migrations runner's rules, and the foundation's own migrations. Versions
// must increase; gaps are allowed so other layers own a range (the pipeline
// numbers from 100). The project's full list is assembled in electron/db.
import { migration001 } from './001-foundation';
import { migration002 } from './002-browse-order';
import { migration003 } from './003-fts-bulk';
import type { Migration } from './types';

/**
 * The foundation schema (1-99): project meta, the imported dataset, jobs and import staging.
 * One migration made all of them before the tables were owned by layers; applied history stays as it is.
 */
export const FOUNDATION_MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003];

/** Throws when versions do not strictly increase (a merge mistake, caught at start-up and in tests). */
export function checkMigrationOrder(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!;
    const cur = list[i]!;
    if (cur.version <= prev.version) {
      throw new Error(
        `migration ${cur.version} (${cur.name}) must come after ${prev.version} (${prev.name}): versions must increase`,
      );
    }
  }
}

export function latestVersion(list: readonly Migration[]): number {
  return list.at(-1)?.version ?? 0;
}

export type { Migration };
