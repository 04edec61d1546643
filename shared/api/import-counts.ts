// How an import's counts are worded, the same in the CLI report, the demo
// summary and the UI's import dialog (issue 12 item 10): entries read =
// imported + flagged + rejected, so the numbers a newcomer sees add up.
import type { ImportResult } from './domain';

/** The counts the line reads (an import's result, or a report spread from one). */
export type ImportCounts = Partial<
  Pick<ImportResult, 'entries' | 'imported' | 'flagged' | 'rejected' | 'samples' | 'problemEntries'>
>;

/** One line: "36 entries read: 30 imported, 4 flagged, 2 rejected". An import recorded before these counts says what it has. */
export function importCountsLine(r: ImportCounts): string {
  if (r.entries === undefined || r.imported === undefined || r.flagged === undefined || r.rejected === undefined) {
    return `${r.samples ?? 0} samples imported, ${r.problemEntries ?? 0} entries with problems`;
  }
  return `${r.entries} entries read: ${r.imported} imported, ${r.flagged} flagged, ${r.rejected} rejected`;
}

/** What each count means, shown under the line. */
export const IMPORT_COUNTS_MEANING =
  'imported: usable samples; flagged: imported with a problem (e.g. a missing image), kept as samples for review; ' +
  'rejected: entries with a problem that keeps them out (malformed, duplicate id). Every problem is listed under Problems.';
