// Opt-in parity on a real tokenizer.model (e.g. IXC2.5's InternLM2 one, 92544 pieces):
// MIA_SPM_MODEL_DIR=<folder with tokenizer.model> npx vitest run test/unit/engine/text/sentencepiece-real.test.ts
// Skipped without it: CI has no model files, and the trained models of sentencepiece.test.ts cover the settings.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SentencePieceProcessor } from '../../../../electron/engine/text';
import { cases, corpus, decodeCases, runOracle } from '../../../helpers/sentencepiece-oracle';

const dir = process.env.MIA_SPM_MODEL_DIR;

describe.skipIf(dir === undefined)('a real tokenizer.model against sentencepiece', () => {
  it('gives sentencepiece ids and text on thousands of texts and random id lists', async () => {
    const texts = [...cases(3000, 11), ...corpus(300, 9).split('\n')];
    const oracle = runOracle(['real'], texts, decodeCases(500, 5), { existing: { real: dir! } });
    const ref = oracle.models['real']!;
    const spm = await SentencePieceProcessor.fromFile(join(dir!, 'tokenizer.model'));
    expect(spm.pieces.map((p) => p.piece)).toEqual(ref.pieces);
    expect(texts.filter((t, i) => JSON.stringify(spm.encode(t)) !== JSON.stringify(ref.ids[i]))).toEqual([]);
    expect(ref.ids.filter((ids, i) => spm.decode(ids) !== ref.decoded[i])).toEqual([]);
    expect(ref.extraIds.filter((ids, i) => spm.decode(ids) !== ref.extraDecoded[i])).toEqual([]);
  }, 120_000);
});
