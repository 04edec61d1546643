// The shape of one schema migration: a numbered step applied once, inside the
// transaction that also sets `user_version` (see ./index and ../database).
import type { Database } from 'better-sqlite3';

export interface Migration {
  /** Becomes `user_version` once applied. Increasing; gaps allowed (the pipeline numbers from 100). */
  version: number;
  name: string;
  up(db: Database): void;
}
