// A model folder with only `tokenizer.model` (IXC2.5 / InternLM2 style) through the one
// tokenizer loader: ids equal to sentencepiece's, BOS from the config, literal special
// tokens split out as transformers' slow tokenizer does, streaming decode, stop ids.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncrementalDecoder, TextTokenizer, stopCriteria } from '../../../../electron/engine/text';
import { cases, runOracle, type Oracle } from '../../../helpers/sentencepiece-oracle';
import { llavaTokenizerFolder } from './tokenizer-fixtures';

/** tokenizer_config.json as InternLM2's: BOS added, EOS not, the chat markers not special. */
const INTERNLM2_CONFIG = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: '<s>',
  eos_token: '</s>',
  unk_token: '<unk>',
  pad_token: '</s>',
  chat_template: "{% for m in messages %}{{ '[UNUSED_TOKEN_146]' + m['role'] + '\\n' + m['content'] }}{% endfor %}",
};

const TEXTS = [...cases(120, 7), 'a', 'b', 'the cat'];

let oracle: Oracle;
let model: string;
let dir: string;
beforeAll(() => {
  oracle = runOracle(['internlm2', 'llama'], TEXTS, []);
  model = join(oracle.models['internlm2']!.dir, 'tokenizer.model');
  dir = join(oracle.root, 'ixc-folder');
  mkdirSync(dir);
  copyFileSync(model, join(dir, 'tokenizer.model'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(INTERNLM2_CONFIG));
}, 60_000);
afterAll(() => rmSync(oracle.root, { recursive: true, force: true }));

const pyIds = (text: string): number[] => oracle.models['internlm2']!.ids[TEXTS.indexOf(text)]!;

describe('TextTokenizer on a folder with only tokenizer.model', () => {
  let tok: TextTokenizer;
  beforeAll(async () => {
    tok = await TextTokenizer.fromFolder(dir);
  });

  it('loads the SentencePiece model with the roles of tokenizer_config.json', () => {
    expect(tok.source).toBe(join(dir, 'tokenizer.model'));
    expect(tok.vocabSize).toBe(oracle.models['internlm2']!.size);
    expect(tok.special.bos).toEqual({ token: '<s>', id: 1 });
    expect(tok.special.eos).toEqual({ token: '</s>', id: 2 });
    expect(tok.special.unk).toEqual({ token: '<unk>', id: 0 });
    expect(tok.special.image).toBeUndefined();
    expect(tok.isSpecial(1) && tok.isSpecial(2) && tok.isSpecial(0)).toBe(true);
    expect(tok.isSpecial(tok.tokenId('[UNUSED_TOKEN_145]')!)).toBe(false);
    expect(tok.chatTemplate).toBe(INTERNLM2_CONFIG.chat_template);
    const pieces = oracle.models['internlm2']!.pieces;
    expect(pieces.map((_, id) => tok.tokenString(id))).toEqual(pieces);
    expect(tok.tokenId('<0x0A>')).toBe(pieces.indexOf('<0x0A>'));
  });

  it('encodes every text to sentencepiece ids, BOS first (add_bos_token)', () => {
    // Literal control pieces are split out (next test), which sentencepiece alone does not do.
    const plain = TEXTS.filter((t) => !/<s>|<\/s>|<unk>/.test(t));
    expect(plain.length).toBeGreaterThan(80);
    const bad = plain.filter(
      (t) => JSON.stringify(tok.encode(t, { addSpecialTokens: false })) !== JSON.stringify(pyIds(t)),
    );
    expect(bad).toEqual([]);
    expect(tok.encode('the cat')).toEqual([1, ...pyIds('the cat')]);
  });

  it('keeps literal special tokens whole, encoding the text around them separately', () => {
    expect(tok.encode('a</s>b<s>', { addSpecialTokens: false })).toEqual([...pyIds('a'), 2, ...pyIds('b'), 1]);
  });

  it('decodes with control pieces dropped, and special tokens skipped on request', () => {
    const ids = [1, ...pyIds('the cat'), tok.tokenId('[UNUSED_TOKEN_145]')!, 2];
    expect(tok.decode(ids)).toBe('the cat[UNUSED_TOKEN_145]');
    expect(tok.decode([0, ...pyIds('a')], { skipSpecialTokens: true })).toBe('a');
    expect(tok.decode([0, ...pyIds('a')])).toBe(' \u2047 a');
    expect(() => tok.decode([tok.vocabSize])).toThrow(/tokenizer\.model: cannot decode token id/);
  });

  it('streams text that concatenates to the full decode, holding split UTF-8 back', () => {
    for (const text of TEXTS) {
      const ids = pyIds(text);
      const dec = new IncrementalDecoder(tok);
      const pieces = ids.map((id) => dec.push(id));
      pieces.push(dec.flush());
      expect(pieces.join('')).toBe(tok.decode(ids));
      expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
    }
    const flamingo = tok.encode('🦩', { addSpecialTokens: false });
    expect(flamingo).toHaveLength(4);
    const dec = new IncrementalDecoder(tok);
    expect(flamingo.map((id) => dec.push(id))).toEqual(['', '', '', '🦩']);
  });

  it('stops on EOS and on the end-of-turn id the model config lists', () => {
    const endOfTurn = tok.tokenId('[UNUSED_TOKEN_145]')!;
    expect([...stopCriteria(tok, [2, endOfTurn]).tokenIds].sort((a, b) => a - b)).toEqual([2, endOfTurn]);
  });
});

describe('a Llama-style tokenizer.model (dummy prefix)', () => {
  it('streams text equal to the full decode, the dummy-prefix space kept between pieces', async () => {
    const llama = join(oracle.root, 'llama-folder');
    mkdirSync(llama);
    copyFileSync(join(oracle.models['llama']!.dir, 'tokenizer.model'), join(llama, 'tokenizer.model'));
    const tok = await TextTokenizer.fromFolder(llama);
    const ref = oracle.models['llama']!;
    TEXTS.forEach((text, i) => {
      const ids = ref.ids[i]!;
      expect(tok.decode(ids)).toBe(ref.decoded[i]);
      const dec = new IncrementalDecoder(tok);
      const pieces = ids.map((id) => dec.push(id));
      pieces.push(dec.flush());
      expect(pieces.join(''), JSON.stringify(text)).toBe(ref.decoded[i]);
    });
    const the = tok.encode('the cat', { addSpecialTokens: false });
    expect(tok.tokenString(the[0]!)!.startsWith('▁')).toBe(true);
  });
});

describe('the tokenizer loader', () => {
  it('takes BOS, EOS and UNK from the model when there is no tokenizer_config.json', async () => {
    const bare = join(oracle.root, 'bare');
    mkdirSync(bare);
    copyFileSync(model, join(bare, 'tokenizer.model'));
    const tok = await TextTokenizer.fromFolder(bare);
    expect(tok.special.bos).toEqual({ token: '<s>', id: 1 });
    expect(tok.special.eos).toEqual({ token: '</s>', id: 2 });
    expect(tok.encode('a')).toEqual([1, ...pyIds('a')]);
  });

  it('prefers tokenizer.json when a folder has both', async () => {
    const both = llavaTokenizerFolder();
    copyFileSync(model, join(both, 'tokenizer.model'));
    const tok = await TextTokenizer.fromFolder(both);
    expect(tok.source).toBe(join(both, 'tokenizer.json'));
    expect(tok.vocabSize).toBe(32002);
  });

  it('names both files when a folder has neither', async () => {
    const empty = join(oracle.root, 'empty');
    mkdirSync(empty);
    await expect(TextTokenizer.fromFolder(empty)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringMatching(/neither .*tokenizer\.json nor .*tokenizer\.model exists/) as unknown,
    });
  });

  it('refuses tokens that tokenizer_config.json adds beyond the model', async () => {
    const added = join(oracle.root, 'added');
    mkdirSync(added);
    copyFileSync(model, join(added, 'tokenizer.model'));
    const size = oracle.models['internlm2']!.size;
    const decoder = { '2': { content: '</s>', special: true }, [size]: { content: '<image>', special: true } };
    writeFileSync(join(added, 'tokenizer_config.json'), JSON.stringify({ added_tokens_decoder: decoder }));
    await expect(TextTokenizer.fromFolder(added)).rejects.toMatchObject({
      kind: 'unsupported',
      message: expect.stringContaining(`adds token "<image>" as id ${size}, which is past the model's`) as unknown,
    });
  });

  it('gives the reader error, naming the file, for a broken tokenizer.model', async () => {
    const broken = join(oracle.root, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'tokenizer.model'), '{"not": "a model"}');
    await expect(TextTokenizer.fromFolder(broken)).rejects.toMatchObject({
      kind: 'bad-file',
      subject: join(broken, 'tokenizer.model'),
    });
  });
});
