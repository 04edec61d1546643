// SentencePiece tokenizer.model speed against sentencepiece 0.1.97 itself (Python
// binding, C++ inside), on an 8k-piece BPE model with IXC2.5's settings (byte
// fallback, no dummy prefix, 147 [UNUSED_TOKEN_*] user-defined pieces) trained
// here, encoding and decoding chat-sized prompts. Ids are checked equal first.
import { join } from 'node:path';
import { SentencePieceProcessor } from '../electron/engine/text';
import { rng, runOracle } from '../test/helpers/sentencepiece-oracle';
import type { BenchTable } from './table';

const REPEATS = 5;
const PROMPTS = 200;

/** Syllable words, so BPE has thousands of merges to learn. */
function text(r: () => number, lines: number, vocabulary: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = 5 + Math.floor(r() * 16);
    out.push(Array.from({ length: n }, () => vocabulary[Math.floor(r() * vocabulary.length)]!).join(' '));
  }
  return out.join('\n');
}

/** Best of REPEATS runs, in seconds. */
async function best(run: () => unknown): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const t = performance.now();
    await run();
    min = Math.min(min, performance.now() - t);
  }
  return min / 1000;
}

export async function run(): Promise<BenchTable> {
  const r = rng(5);
  const syllables = 'ka to ri mo an el is un pre con tion ing er st ch qu x z é ü 猫 图 的 🙂'.split(' ');
  const vocabulary = Array.from({ length: 5000 }, () =>
    Array.from({ length: 1 + Math.floor(r() * 4) }, () => syllables[Math.floor(r() * syllables.length)]!).join(''),
  );
  const prompts = Array.from(
    { length: PROMPTS },
    () => `[UNUSED_TOKEN_146]user\n${text(r, 20, vocabulary)}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n`,
  );
  const model = {
    model_type: 'bpe',
    vocab_size: 8000,
    byte_fallback: true,
    add_dummy_prefix: false,
    remove_extra_whitespaces: false,
    normalization_rule_name: 'identity',
    user_defined_symbols: Array.from({ length: 147 }, (_, i) => `[UNUSED_TOKEN_${i}]`),
    hard_vocab_limit: false,
  };
  const oracle = runOracle(['ixc-8k'], prompts, [], {
    corpus: text(r, 20000, vocabulary),
    models: { 'ixc-8k': model },
    repeats: REPEATS,
  });
  const ref = oracle.models['ixc-8k']!;
  const path = join(ref.dir, 'tokenizer.model');
  const spm = await SentencePieceProcessor.fromFile(path);
  const ids = prompts.map((p) => spm.encode(p));
  if (JSON.stringify(ids) !== JSON.stringify(ref.ids)) throw new Error('ids differ from sentencepiece');
  const ours = {
    load: await best(() => SentencePieceProcessor.fromFile(path)),
    encode: await best(() => prompts.forEach((p) => spm.encode(p))),
    decode: await best(() => ids.forEach((x) => spm.decode(x))),
  };
  const theirs = ref.seconds!;
  const chars = prompts.reduce((n, p) => n + p.length, 0);
  const tokens = ids.reduce((n, x) => n + x.length, 0);
  const row = (name: string, a: number, b: number) => [name, a * 1000, b * 1000, a / b];
  return {
    columns: ['case', 'ours ms', 'sentencepiece ms', 'ours / sentencepiece'],
    rows: [
      row(`load tokenizer.model (${spm.pieces.length} pieces)`, ours.load, theirs.load),
      row(`encode ${PROMPTS} prompts (${chars} chars, ${tokens} tokens)`, ours.encode, theirs.encode),
      row(`decode them`, ours.decode, theirs.decode),
    ],
    notes: [`best of ${REPEATS}; ids equal to sentencepiece's on every prompt`],
  };
}
