// A tiny random InternLM-XComposer-2.5 folder that can generate: the random
// checkpoint (56 px crops, 2x2 merged tokens a side, 2 decoder layers) plus a
// SentencePiece tokenizer.model trained for the test with InternLM2's settings
// (test/helpers/sentencepiece-oracle.ts) and its tokenizer_config.json.
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeRandomIxc, type RandomIxcOptions } from '../../electron/engine/models/random-ixc-checkpoint';
import { runOracle } from './sentencepiece-oracle';

export interface TinyIxc {
  dir: string;
  /** Removes the folder and the oracle's files. */
  cleanup(): void;
}

export async function writeTinyIxc(
  seed: number,
  dir?: string,
  options: Omit<RandomIxcOptions, 'seed' | 'vocab'> = {},
): Promise<TinyIxc> {
  const oracle = runOracle(['internlm2'], [], []);
  const model = oracle.models['internlm2']!;
  const written = await writeRandomIxc({ ...options, seed, vocab: model.size }, dir);
  copyFileSync(path.join(model.dir, 'tokenizer.model'), path.join(written.dir, 'tokenizer.model'));
  const config = { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  writeFileSync(path.join(written.dir, 'tokenizer_config.json'), JSON.stringify(config));
  return {
    dir: written.dir,
    cleanup() {
      rmSync(oracle.root, { recursive: true, force: true });
      rmSync(written.dir, { recursive: true, force: true });
    },
  };
}
