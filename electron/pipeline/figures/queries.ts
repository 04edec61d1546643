// The figures job's one query: its result, returned as written (the figures
// are files in the project folder; nothing is stored in the database).
import type { Database } from 'better-sqlite3';

export interface FiguresResult {
  /** `<project>/figures`. */
  dir: string;
  files: string[];
  /** Figure 6's item and before/after eval runs; null without Figure 6. */
  item: number | null;
  runs: [number, number] | null;
}

function figuresRendered(_db: Database, a: FiguresResult): FiguresResult {
  return a;
}

export const FIGURE_QUERIES = { figuresRendered };
export type FigureQueries = typeof FIGURE_QUERIES;
