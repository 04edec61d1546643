// The ordered list of schema migrations. Versions must increase; gaps are
// allowed so other layers can own a range (the pipeline numbers from 100).
import { migration001 } from './001-foundation';
import { migration002 } from './002-browse-order';
import { migration003 } from './003-fts-bulk';
import { migration100 } from './100-pipeline';
import { migration130 } from './130-generation-tokens';
import { migration140 } from './140-pair-review';
import type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration100, migration130, migration140];

/** Throws when versions do not strictly increase (a merge mistake, caught at start-up and in tests). */
export function checkMigrationOrder(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!;
    const cur = list[i]!;
    if (cur.version <= prev.version) {
      throw new Error(`migration ${cur.version} (${cur.name}) must come after ${prev.version} (${prev.name}): versions must increase`);
    }
  }
}

export function latestVersion(list: readonly Migration[] = MIGRATIONS): number {
  return list.at(-1)?.version ?? 0;
}

export type { Migration };
