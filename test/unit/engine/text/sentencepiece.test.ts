// The TypeScript SentencePiece BPE against sentencepiece 0.1.97 itself: models trained
// for the test with IXC2.5's InternLM2 settings, Llama's and sentencepiece's defaults;
// ids, pieces and decoded text must be equal on a corpus with emoji, CJK, accents,
// whitespace runs and user-defined pieces inside text.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SentencePieceProcessor } from '../../../../electron/engine/text';
import { cases, decodeCases, runOracle, USER_DEFINED, type Oracle } from '../../../helpers/sentencepiece-oracle';

const BPE_MODELS = ['internlm2', 'llama', 'defaults', 'defaults-restricted'] as const;

let oracle: Oracle;
beforeAll(() => {
  oracle = runOracle([...BPE_MODELS, 'unigram'], cases(300), decodeCases(150));
}, 60_000);
afterAll(() => rmSync(oracle.root, { recursive: true, force: true }));

/** The texts where `actual` differs from `expected`, with both, for a readable failure. */
function mismatches<T>(texts: readonly unknown[], actual: readonly T[], expected: readonly T[]) {
  return texts.flatMap((text, i) =>
    JSON.stringify(actual[i]) === JSON.stringify(expected[i])
      ? []
      : [{ text, actual: actual[i], expected: expected[i] }],
  );
}

describe.each(BPE_MODELS)('SentencePiece BPE model "%s"', (name) => {
  let spm: SentencePieceProcessor;
  beforeAll(async () => {
    spm = await SentencePieceProcessor.fromFile(join(oracle.models[name]!.dir, 'tokenizer.model'));
  });

  it('reads every piece and the special ids of the file', () => {
    const ref = oracle.models[name]!;
    expect(spm.pieces.map((p) => p.piece)).toEqual(ref.pieces);
    expect([spm.unkId, spm.bosId, spm.eosId]).toEqual([ref.unk, ref.bos, ref.eos]);
  });

  it('encodes every text to the ids sentencepiece gives', () => {
    const ref = oracle.models[name]!;
    const ours = oracle.texts.map((t) => spm.encode(t));
    expect(mismatches(oracle.texts, ours, ref.ids)).toEqual([]);
  });

  it('decodes those ids to the text sentencepiece gives', () => {
    const ref = oracle.models[name]!;
    const ours = ref.ids.map((ids) => spm.decode(ids));
    expect(mismatches(oracle.texts, ours, ref.decoded)).toEqual([]);
  });

  it('decodes arbitrary id lists (split and invalid UTF-8 bytes, control pieces) as sentencepiece does', () => {
    const ref = oracle.models[name]!;
    const ours = ref.extraIds.map((ids) => spm.decode(ids));
    expect(mismatches(ref.extraIds, ours, ref.extraDecoded)).toEqual([]);
  });

  it('round-trips decode(encode(x)) == x wherever sentencepiece does', () => {
    const ref = oracle.models[name]!;
    const roundTrips = oracle.texts.filter((t, i) => ref.decoded[i] === t);
    expect(roundTrips.length).toBeGreaterThan(name.startsWith('defaults') ? 10 : 200);
    const failed = roundTrips.filter((t) => spm.decode(spm.encode(t)) !== t);
    expect(failed).toEqual([]);
  });
});

describe('the InternLM2 (IXC2.5) settings', () => {
  let spm: SentencePieceProcessor;
  beforeAll(async () => {
    spm = await SentencePieceProcessor.fromFile(join(oracle.models['internlm2']!.dir, 'tokenizer.model'));
  });

  it('reads the normalizer settings of the file', () => {
    expect(spm.normalizerSpec).toMatchObject({
      name: 'identity',
      addDummyPrefix: false,
      removeExtraWhitespaces: false,
      escapeWhitespaces: true,
    });
    expect(spm.byteFallback).toBe(true);
  });

  it('keeps user-defined pieces whole inside text and never merges across them', () => {
    const [start, end] = [spm.pieceToId(USER_DEFINED[0]!)!, spm.pieceToId(USER_DEFINED[1]!)!];
    expect(spm.pieces[start]!.type).toBe('user-defined');
    const ids = spm.encode('a[UNUSED_TOKEN_146]b[UNUSED_TOKEN_145]');
    expect(ids.map((id) => spm.idToPiece(id))).toEqual(['a', '[UNUSED_TOKEN_146]', 'b', '[UNUSED_TOKEN_145]']);
    expect(ids[3]).toBe(end);
  });

  it('adds no dummy prefix and keeps space runs as ▁ pieces', () => {
    const pieces = spm.encode('  two').map((id) => spm.idToPiece(id)!);
    expect(pieces.join('')).toBe('▁▁two');
    expect(pieces[0]!.startsWith('t')).toBe(false);
    expect(
      spm
        .encode('the')
        .map((id) => spm.idToPiece(id)!)[0]!
        .startsWith('▁'),
    ).toBe(false);
    expect(spm.decode(spm.encode('  two'))).toBe('  two');
  });

  it('falls back to UTF-8 byte pieces for a character outside the vocabulary', () => {
    const flamingo = '🦩';
    const bytes = [...Buffer.from(flamingo, 'utf8')].map((b) => `<0x${b.toString(16).toUpperCase()}>`);
    expect(spm.encode(flamingo).map((id) => spm.idToPiece(id))).toEqual(bytes);
    expect(spm.decode(spm.encode(flamingo))).toBe(flamingo);
  });
});

describe('a vocabulary restricted by set_vocabulary (UNUSED pieces)', () => {
  it('never emits an unused piece: merges that make one are split back into their pair', async () => {
    const spm = await SentencePieceProcessor.fromFile(
      join(oracle.models['defaults-restricted']!.dir, 'tokenizer.model'),
    );
    const unused = new Set(spm.pieces.flatMap((p, id) => (p.type === 'unused' ? [id] : [])));
    expect(unused.size).toBeGreaterThan(20);
    const ids = oracle.texts.flatMap((t) => spm.encode(t));
    expect(ids.filter((id) => unused.has(id))).toEqual([]);
    // The full model does use some of those pieces on the same texts.
    const full = await SentencePieceProcessor.fromFile(join(oracle.models['defaults']!.dir, 'tokenizer.model'));
    const fullIds = new Set(oracle.texts.flatMap((t) => full.encode(t)));
    expect([...unused].filter((id) => fullIds.has(id)).length).toBeGreaterThan(5);
  });
});

describe('bad tokenizer.model files', () => {
  let good: Buffer;
  let dir: string;
  beforeAll(() => {
    dir = oracle.root;
    good = readFileSync(join(oracle.models['internlm2']!.dir, 'tokenizer.model'));
  });

  async function loadError(bytes: Uint8Array | string, file: string) {
    const path = join(dir, file);
    writeFileSync(path, bytes);
    return SentencePieceProcessor.fromFile(path).then(
      () => undefined,
      (e: unknown) => e,
    );
  }

  it('refuses a truncated file, naming it', async () => {
    const e = await loadError(good.subarray(0, Math.floor(good.length / 2)), 'truncated.model');
    expect(e).toMatchObject({ kind: 'bad-file', subject: join(dir, 'truncated.model') });
    expect((e as Error).message).toContain('truncated.model');
  });

  it('refuses random bytes', async () => {
    const bytes = Buffer.alloc(4096);
    let x = 12345;
    for (let i = 0; i < bytes.length; i++) bytes[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const e = await loadError(bytes, 'random.model');
    expect(e).toMatchObject({ kind: 'bad-file' });
    expect((e as Error).message).toMatch(/random\.model.*(not a SentencePiece model|piece)/);
  });

  it('refuses a JSON file', async () => {
    const e = await loadError(JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 } } }), 'json.model');
    expect(e).toMatchObject({ kind: 'bad-file' });
    expect((e as Error).message).toContain('json.model is not a SentencePiece model');
  });

  it('refuses an empty file', async () => {
    const e = await loadError(new Uint8Array(0), 'empty.model');
    expect((e as Error).message).toContain('empty.model is not a SentencePiece model');
  });

  it('refuses a unigram model clearly', async () => {
    const path = join(oracle.models['unigram']!.dir, 'tokenizer.model');
    await expect(SentencePieceProcessor.fromFile(path)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining('model_type unigram is not supported') as unknown,
    });
  });

  it('says when the file is missing', async () => {
    await expect(SentencePieceProcessor.fromFile(join(dir, 'nope.model'))).rejects.toMatchObject({
      kind: 'not-found',
    });
  });
});
