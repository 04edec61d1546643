// Malformed payloads for the pipeline's API commands, spread into the
// contract test's table (test/unit/service/api.test.ts), which checks every
// channel refuses them with 'bad-input'.
import type { PIPELINE_COMMANDS } from '../../../shared/pipeline/commands';

export const PIPELINE_MALFORMED = {
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
} satisfies Record<keyof typeof PIPELINE_COMMANDS, unknown[]>;
