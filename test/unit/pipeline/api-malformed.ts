// Malformed payloads for the pipeline's API commands, spread into the
// contract test's table (test/unit/service/api.test.ts), which checks every
// channel refuses them with 'bad-input'.
import type { PIPELINE_COMMANDS } from '../../../shared/pipeline/commands';
import type { EVAL_COMMANDS } from '../../../shared/pipeline/eval';
import type { FIGURE_COMMANDS } from '../../../shared/pipeline/figures';

export const PIPELINE_MALFORMED = {
  'pipeline.overview': [{ x: 1 }],
  'pipeline.augmented': [{ offset: -1 }, { limit: 0 }, { limit: 501 }, { format: 'collage' }, { colour: 'red' }],
  'pipeline.settings': [{ x: 1 }],
  'pipeline.settings.set': [{}, { patch: 3 }, { patch: [] }],
  'pipeline.augment': [
    { seed: -1 },
    { seed: 1.5 },
    { count: 0 },
    { formats: [] },
    { formats: ['collage'] },
    { colour: 'red' },
  ],
  'pipeline.respond': [
    {},
    { model: '' },
    { model: 'm', layer: -1 },
    { model: 'm', maxNewTokens: 0 },
    { model: 'm', temperature: -0.5 },
    { model: 'm', ep: 'tpu' },
    { model: 'm', perturb: 'yes' },
  ],
  'pipeline.select': [{ patch: 'strict' }, { thresholds: {} }],
  'pipeline.pairs': [
    { offset: -1 },
    { limit: 0 },
    { limit: 501 },
    { keptOnly: true },
    { filter: { format: ['collage'] } },
    { filter: { decision: [] } },
    { filter: { imageCount: [0] } },
    { filter: { failed: 'colour' } },
    { filter: { text: 5 } },
    { filter: { colour: 'red' } },
    { sort: { by: 'prompt' } },
    { sort: { by: 'id', dir: 'up' } },
  ],
  'pipeline.pairs.get': [{}, { id: -1 }, { id: 'a' }, { id: 1, history: true }],
  'pipeline.pairs.review': [{}, { id: 1 }, { id: 1, action: 'delete' }, { id: 'a', action: 'accept' }],
  'pipeline.pairs.reviewMany': [
    {},
    { filter: {}, action: 'edit' },
    { filter: { format: ['collage'] }, action: 'accept' },
    { filter: {}, action: 'accept', dryRun: 'yes' },
  ],
  'pipeline.pairs.undo': [{ steps: 2 }],
  'pipeline.pairs.redo': [{ steps: 2 }],
  'pipeline.pairs.undoState': [{ x: 1 }],
  'pipeline.select.preview': [{ patch: 3 }, { examples: -1 }, { thresholds: {} }],
  'pipeline.select.curves': [{ x: 1 }],
  'pipeline.stats': [{ bins: 0 }, { bins: 'many' }],
  'pipeline.export': [{}, { format: 'csv', out: 'x' }, { format: 'mia' }, { format: 'trl', out: '' }],
  'eval.bench.import': [{}, { file: '' }, { file: 'x.tsv', name: '' }, { file: 'x.tsv', format: 'csv' }],
  'eval.bench.list': [{ all: true }],
  'eval.run': [
    {},
    { model: 'm' },
    { model: 'm', bench: 'b', mode: 'judge' },
    { model: 'm', bench: 'b', maxNewTokens: 0 },
    { model: 'm', bench: 'b', ep: 'tpu' },
  ],
  'eval.runs': [{ x: 1 }],
  'eval.runs.get': [{}, { id: -1 }, { id: 'a' }, { jobId: 1.5 }],
  'eval.items': [{}, { run: -1 }, { run: 1, limit: 0 }, { run: 1, category: 3 }],
  'eval.compare': [{}, { a: 1 }, { a: 1, b: 2, resamples: 5 }, { a: 1, b: 2, seed: -1 }],
  'eval.table': [{ baseline: 3 }, { runs: [] }],
  'eval.side': [{}, { a: 1, b: 2, filter: { agreement: [] } }, { a: 1, b: 2, filter: { agreement: ['maybe'] } }],
  'eval.attention.diff': [{}, { a: 1, b: 2 }, { a: 1, b: 2, itemId: 'x' }],
  'figures.attentionRatios': [{ patch: 3 }, { bins: 10 }],
  'figures.beforeAfter': [{ item: -1 }, { runs: [1] }, { runs: [1, 'b'] }, { a: 1 }],
  'figures.render': [{ figures: [] }, { figures: ['figure7'] }, { runs: [1, 2, 3] }, { patch: [] }],
} satisfies Record<
  keyof typeof PIPELINE_COMMANDS | keyof typeof EVAL_COMMANDS | keyof typeof FIGURE_COMMANDS,
  unknown[]
>;
