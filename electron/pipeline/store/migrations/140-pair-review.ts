// What the pairs review page filters, sorts and searches in SQL (issue #8,
// item 7): `pair_facets`, one narrow row per pair with its format, image
// count, decision, failed checks, review state and sort metrics, and
// `pairs_fts` over prompt, chosen and rejected. Both are derived: triggers
// keep them in step with pairs, decisions and generations, so nothing writes
// them directly and the decisions table stays the one source of decisions.
import type { Migration } from '../../../store/migrations';

/** The metric columns of pair_facets and the GenerationMetrics keys they copy (generations.metrics JSON). */
const METRIC_COLUMNS = [
  ['attention_ratio', 'attentionRatio'],
  ['exact_ratio', 'exactRatio'],
  ['ppl_maxprob', 'pplMaxProb'],
  ['ppl_true', 'pplTrue'],
  ['length_ratio', 'lengthRatio'],
  ['edit_distance', 'editDistanceChars'],
  ['edit_distance_tokens', 'editDistanceTokens'],
] as const;

/** The review page's equality filters (sorted indexes list them after their key columns). */
const FILTER_COLUMNS = 'decision, review, format, image_count';

const metricColumns = METRIC_COLUMNS.map(([c]) => c).join(', ');
// JSON.stringify writes NaN and infinities as null: they arrive here as NULL and sort last.
const metricValues = METRIC_COLUMNS.map(([, key]) => `json_extract(g.metrics, '$.${key}')`).join(', ');

/** Where the columns of a pair come from: every pair (the backfill) or the row a trigger fires for. */
interface PairSource {
  id: string;
  review: string;
  chosen: string;
  rejected: string;
  /** FROM ... WHERE, joined to `g` (generations) and `a` (augmented_samples). */
  from: string;
}

const EVERY_PAIR: PairSource = {
  id: 'p.id',
  review: 'p.review',
  chosen: 'p.chosen',
  rejected: 'p.rejected',
  from: 'pairs p JOIN generations g ON g.id = p.generation_id JOIN augmented_samples a ON a.id = g.augmented_id',
};

// A direct lookup by the new row's generation id: a FROM subquery over NEW would cost ~10x per insert.
const NEW_PAIR: PairSource = {
  id: 'NEW.id',
  review: 'NEW.review',
  chosen: 'NEW.chosen',
  rejected: 'NEW.rejected',
  from: 'generations g JOIN augmented_samples a ON a.id = g.augmented_id WHERE g.id = NEW.generation_id',
};

const facetsOf = (p: PairSource) => `
  INSERT INTO pair_facets (pair_id, format, image_count, decision, failed, review, ${metricColumns})
  SELECT ${p.id}, a.format, a.image_count, (SELECT decision FROM decisions WHERE generation_id = g.id),
    coalesce((SELECT failed FROM decisions WHERE generation_id = g.id), '[]'), ${p.review}, ${metricValues}
  FROM ${p.from}`;

const ftsOf = (p: PairSource) =>
  `INSERT INTO pairs_fts (rowid, prompt, chosen, rejected) SELECT ${p.id}, a.prompt, ${p.chosen}, ${p.rejected} FROM ${p.from}`;

const decisionOf = (row: 'NEW' | 'OLD', decision: string, failed: string) =>
  `UPDATE pair_facets SET decision = ${decision}, failed = ${failed} WHERE pair_id IN (SELECT id FROM pairs WHERE generation_id = ${row}.generation_id);`;

export const migration140: Migration = {
  version: 140,
  name: 'pair-review',
  up(db) {
    db.exec(`
      CREATE TABLE pair_facets (
        pair_id INTEGER PRIMARY KEY REFERENCES pairs(id) ON DELETE CASCADE,
        format TEXT NOT NULL,
        image_count INTEGER NOT NULL,
        -- NULL: the generation has no decision yet (undecided).
        decision TEXT,
        -- decisions.failed: a JSON array of check names; matched as '"name"' substrings.
        failed TEXT NOT NULL,
        review TEXT NOT NULL,
        ${METRIC_COLUMNS.map(([c]) => `${c} REAL`).join(',\n        ')}
      ) STRICT;
      -- Every index also holds the four filter columns, so counts and walks in sort order never read the table.
      CREATE INDEX pair_facets_by_format ON pair_facets(format, image_count, decision, review);
      CREATE INDEX pair_facets_by_decision ON pair_facets(${FILTER_COLUMNS});
      CREATE INDEX pair_facets_by_review ON pair_facets(review, decision, format, image_count);
      ${METRIC_COLUMNS.map(([c]) => `CREATE INDEX pair_facets_by_${c} ON pair_facets(${c}, pair_id, ${FILTER_COLUMNS});`).join('\n      ')}

      CREATE VIRTUAL TABLE pairs_fts USING fts5(prompt, chosen, rejected);

      ${facetsOf(EVERY_PAIR)};
      ${ftsOf(EVERY_PAIR)};

      CREATE TRIGGER pairs_derived_insert AFTER INSERT ON pairs BEGIN
        ${facetsOf(NEW_PAIR)};
        ${ftsOf(NEW_PAIR)};
      END;
      CREATE TRIGGER pairs_derived_review AFTER UPDATE OF review ON pairs BEGIN
        UPDATE pair_facets SET review = NEW.review WHERE pair_id = NEW.id;
      END;
      CREATE TRIGGER pairs_derived_text AFTER UPDATE OF chosen, rejected ON pairs BEGIN
        UPDATE pairs_fts SET chosen = NEW.chosen, rejected = NEW.rejected WHERE rowid = NEW.id;
      END;
      CREATE TRIGGER pairs_derived_delete AFTER DELETE ON pairs BEGIN
        DELETE FROM pairs_fts WHERE rowid = OLD.id;
      END;
      CREATE TRIGGER decisions_derived_insert AFTER INSERT ON decisions BEGIN
        ${decisionOf('NEW', 'NEW.decision', 'NEW.failed')}
      END;
      -- A re-selection rewrites every decision row; only changed ones touch the facets' indexes.
      CREATE TRIGGER decisions_derived_update AFTER UPDATE ON decisions WHEN OLD.decision IS NOT NEW.decision OR OLD.failed IS NOT NEW.failed BEGIN
        ${decisionOf('NEW', 'NEW.decision', 'NEW.failed')}
      END;
      CREATE TRIGGER decisions_derived_delete AFTER DELETE ON decisions BEGIN
        ${decisionOf('OLD', 'NULL', "'[]'")}
      END;
    `);
  },
};
