// SentencePiece models trained for the tests by Debian's python3-sentencepiece
// (test/reference/sentencepiece_ref.py, one Python process per test file), with the
// texts to compare on and what sentencepiece itself made of them.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OracleModel {
  size: number;
  bos: number;
  eos: number;
  unk: number;
  pieces: string[];
  ids: number[][];
  decoded: string[];
  extraIds: number[][];
  extraDecoded: string[];
  /** Best-of-`repeats` seconds, when timed. */
  seconds?: { load: number; encode: number; decode: number };
}

export interface Oracle {
  root: string;
  texts: string[];
  models: Record<string, OracleModel & { dir: string }>;
}

/** The chat markers of InternLM2 (IXC2.5): user-defined pieces of its tokenizer.model. */
export const USER_DEFINED = ['[UNUSED_TOKEN_146]', '[UNUSED_TOKEN_145]', '<ImageHere>'];

/** Model settings to train, by name: IXC2.5's InternLM2 settings, Llama's, sentencepiece's defaults, and unigram. */
export const MODEL_OPTIONS: Record<string, Record<string, unknown>> = {
  internlm2: {
    model_type: 'bpe',
    vocab_size: 700,
    byte_fallback: true,
    user_defined_symbols: USER_DEFINED,
    add_dummy_prefix: false,
    remove_extra_whitespaces: false,
    normalization_rule_name: 'identity',
    character_coverage: 0.995,
    hard_vocab_limit: false,
  },
  llama: {
    model_type: 'bpe',
    vocab_size: 600,
    byte_fallback: true,
    remove_extra_whitespaces: false,
    normalization_rule_name: 'identity',
    character_coverage: 0.995,
    hard_vocab_limit: false,
  },
  defaults: { model_type: 'bpe', vocab_size: 400, hard_vocab_limit: false },
  unigram: { model_type: 'unigram', vocab_size: 300, hard_vocab_limit: false },
};

/** Models whose vocabulary is then restricted with sentencepiece's set_vocabulary (pieces marked UNUSED). */
export const RESTRICTED: Record<string, string> = { 'defaults-restricted': 'defaults' };

/** A small seeded generator (mulberry32), so corpora and cases are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  ...'the a cat sat on mat and dog ran to park while birds sang in trees over river under bridge'.split(' '),
  ...'image picture shows describe what which left right first second third answer question'.split(' '),
  ...'café naïve über straße déjà vu señor façade crème brûlée Ångström'.split(' '),
  ...'猫 狗 图片 描述 这张 中 的 是 什么 你好 世界 こんにちは 東京'.split(' '),
  ...'user assistant system Image1 Image2 <ImageHere> [UNUSED_TOKEN_146] [UNUSED_TOKEN_145]'.split(' '),
  ...'123 4567 3.14 x=1; f(x) {a: 1} <div> #tag @name'.split(' '),
];

/** Training text: lines of words from WORDS with a few rarer characters. */
export function corpus(lines: number, seed = 1): string {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 3 + Math.floor(r() * 12);
    const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]!);
    if (r() < 0.05) words.push('🙂');
    if (r() < 0.1) words.push('\t');
    out.push(words.join(r() < 0.9 ? ' ' : '  '));
  }
  return out.join('\n') + '\n';
}

const CHARS = [
  ...'abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?()[]<>_#'.split(''),
  ' ',
  ' ',
  ' ',
  '\t',
  '\n',
  '\r\n',
  ...'éèêàçñüößÅø'.split(''),
  ...'猫狗图片描述中的是东京本'.split(''),
  '🙂',
  '🦩',
  '👍🏽',
  '\u2581',
  '\u00a0',
  '\u3000',
  'ﬁ',
  '①',
  'Ａ',
  '[UNUSED_TOKEN_146]',
  '[UNUSED_TOKEN_145]',
  '[UNUSED_TOKEN_14',
  '<ImageHere>',
  '<s>',
  '</s>',
  '<unk>',
];

/** Hand-picked texts, then random strings over the characters above. */
export function cases(count: number, seed = 2): string[] {
  const fixed = [
    'Hello world',
    '  two',
    'trailing  ',
    '   ',
    '',
    '\n',
    'assistant\n',
    '[UNUSED_TOKEN_146]user\nDescribe <ImageHere> please.[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n',
    'Image1 <ImageHere>; Image2 <ImageHere>; which one?',
    '🙂 emoji 🦩 and 👍🏽',
    '这张图片中的猫是什么？',
    'café naïve über straße Ångström',
    'tabs\tand\t\ttabs\nnew\n\nlines\r\n',
    'multiple     spaces    inside',
    ' leading space',
    'ﬁne ① Ａ full-width and\u00a0nbsp\u3000ideographic',
    'x[UNUSED_TOKEN_146]y[UNUSED_TOKEN_145]z',
    'an ▁ visible space ▁▁',
  ];
  const r = rng(seed);
  const random = Array.from({ length: count }, () => {
    const n = Math.floor(r() * 24);
    return Array.from({ length: n }, () => CHARS[Math.floor(r() * CHARS.length)]!).join('');
  });
  return [...fixed, ...random];
}

/** Id lists to decode: random ids (modulo the vocabulary in Python), byte runs included. */
export function decodeCases(count: number, seed = 3): number[][] {
  const r = rng(seed);
  return Array.from({ length: count }, () => {
    const n = 1 + Math.floor(r() * 10);
    // The byte pieces of the byte-fallback models follow the 3 control and the user-defined pieces: pick them often.
    return Array.from({ length: n }, () => (r() < 0.5 ? 3 + Math.floor(r() * 259) : Math.floor(r() * 1000)));
  });
}

const here = fileURLToPath(new URL('.', import.meta.url));

export interface OracleOptions {
  /** Training text (default: corpus(1500)). */
  corpus?: string;
  /** Settings of models not in MODEL_OPTIONS, by name. */
  models?: Record<string, Record<string, unknown>>;
  /** Folders holding an existing tokenizer.model to use instead of training, by model name. */
  existing?: Record<string, string>;
  /** Time sentencepiece's load, encode and decode, best of this many runs (bench/). */
  repeats?: number;
}

/** Trains the named models and runs sentencepiece on the texts, in one Python process. */
export function runOracle(
  names: readonly string[],
  texts: readonly string[],
  decode: readonly number[][],
  options: OracleOptions = {},
): Oracle {
  const root = mkdtempSync(join(tmpdir(), 'spm-'));
  writeFileSync(join(root, 'corpus.txt'), options.corpus ?? corpus(1500));
  const settings = { ...MODEL_OPTIONS, ...options.models };
  const request = {
    corpus: join(root, 'corpus.txt'),
    models: names.map((name) => ({
      name,
      dir: options.existing?.[name] ?? join(root, name),
      options: options.existing?.[name] === undefined ? settings[RESTRICTED[name] ?? name] : null,
      restrict: name in RESTRICTED,
    })),
    texts,
    decode,
    repeats: options.repeats,
  };
  writeFileSync(join(root, 'request.json'), JSON.stringify(request));
  const python = process.env.MIA_PYTHON ?? '/usr/bin/python3';
  const script = join(here, '..', 'reference', 'sentencepiece_ref.py');
  execFileSync(python, [script, join(root, 'request.json'), join(root, 'out.json')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const out = JSON.parse(readFileSync(join(root, 'out.json'), 'utf8')) as { models: Record<string, OracleModel> };
  const models: Oracle['models'] = {};
  for (const name of names) models[name] = { ...out.models[name]!, dir: options.existing?.[name] ?? join(root, name) };
  return { root, texts: [...texts], models };
}
