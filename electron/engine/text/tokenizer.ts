// The model's tokenizer: `tokenizer.json` run by @huggingface/tokenizers, with the
// settings of `tokenizer_config.json` that the library leaves to the caller
// (add_bos_token / add_eos_token, special token names, the `<image>` token).

import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { AppError } from '../../../shared/errors';
import { isJsonObject, readJsonFile } from './json-file';
import { loadChatTemplate } from './chat-template-file';
import { IMAGE_PLACEHOLDER } from './image-placeholders';

export interface EncodeOptions {
  /** Add BOS/EOS as the tokenizer config says (default true), like HF's `add_special_tokens`. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, `<image>`, `<pad>`, ...) from the text (default false). */
  skipSpecialTokens?: boolean;
}

/** The roles special tokens play; a role is absent when the tokenizer has no such token. */
export interface SpecialTokens {
  bos?: { token: string; id: number };
  eos?: { token: string; id: number };
  pad?: { token: string; id: number };
  unk?: { token: string; id: number };
  image?: { token: string; id: number };
}

export interface TokenizerLoadOptions {
  /** The image placeholder's token string; default: `image_token` of the config, else `<image>` when in the vocab. */
  imageToken?: string;
}

/** Files of a model folder the tokenizer reads. */
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

export class TextTokenizer {
  readonly special: SpecialTokens;
  /** The model's own chat template, when it has one (tokenizer_config.json or chat_template.json/.jinja). */
  readonly chatTemplate: string | undefined;
  /** Number of token ids with a string, added tokens included. */
  readonly vocabSize: number;
  /** Where the tokenizer came from, for error messages. */
  readonly source: string;
  private readonly tokenizer: Tokenizer;
  private readonly specialIds: ReadonlySet<number>;
  /** Set when tokenizer_config.json states add_bos_token/add_eos_token: they then replace the post-processor. */
  private readonly explicitSpecials: { bos: boolean; eos: boolean } | undefined;

  private constructor(
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
    init: {
      source: string;
      chatTemplate: string | undefined;
      imageToken: string | undefined;
    },
  ) {
    this.source = init.source;
    mergeAddedTokens(tokenizerJson, config);
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new AppError('unsupported', `${init.source}: the tokenizer cannot be built: ${(e as Error).message}`, {
        subject: init.source,
        cause: e,
      });
    }
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const added = [...this.tokenizer.get_added_tokens_decoder().values()];
    this.specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    this.special = {};
    for (const role of ['bos', 'eos', 'pad', 'unk'] as const) {
      const token = tokenName(config[`${role}_token`]);
      const id = token === undefined ? undefined : this.tokenizer.token_to_id(token);
      if (token !== undefined && id !== undefined) this.special[role] = { token, id };
    }
    const imageToken = init.imageToken ?? tokenName(config['image_token']) ?? IMAGE_PLACEHOLDER;
    const imageId = this.tokenizer.token_to_id(imageToken);
    if (imageId !== undefined) this.special.image = { token: imageToken, id: imageId };
    else if (init.imageToken !== undefined) {
      throw new AppError(
        'bad-input',
        `${init.source}: the image token ${JSON.stringify(imageToken)} is not in the vocabulary`,
        {
          subject: init.source,
        },
      );
    }
    const addBos = config['add_bos_token'];
    const addEos = config['add_eos_token'];
    this.explicitSpecials =
      typeof addBos === 'boolean' || typeof addEos === 'boolean'
        ? { bos: addBos === true, eos: addEos === true }
        : undefined;
    this.chatTemplate = init.chatTemplate;
  }

  /** Loads `tokenizer.json`, `tokenizer_config.json` and the chat template of a model folder. */
  static async fromFolder(dir: string, options: TokenizerLoadOptions = {}): Promise<TextTokenizer> {
    const tokenizerPath = join(dir, TOKENIZER_FILE);
    const configPath = join(dir, TOKENIZER_CONFIG_FILE);
    const tokenizerJson = await readJsonFile(tokenizerPath);
    const config = (await readJsonFile(configPath, { optional: true })) ?? {};
    if (!isJsonObject(tokenizerJson))
      throw new AppError('bad-file', `${tokenizerPath} is not a JSON object`, { subject: tokenizerPath });
    if (!isJsonObject(config))
      throw new AppError('bad-file', `${configPath} is not a JSON object`, { subject: configPath });
    const chatTemplate = await loadChatTemplate(dir, config);
    return TextTokenizer.fromJson(tokenizerJson, config, { source: tokenizerPath, chatTemplate, ...options });
  }

  /** Builds a tokenizer from already parsed files (the objects are not modified). */
  static fromJson(
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
    init: TokenizerLoadOptions & { source: string; chatTemplate?: string },
  ): TextTokenizer {
    const copy = { ...tokenizerJson, added_tokens: [...asAddedTokens(tokenizerJson['added_tokens'], init.source)] };
    return new TextTokenizer(copy, config, {
      source: init.source,
      chatTemplate: init.chatTemplate,
      imageToken: init.imageToken,
    });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    if (this.explicitSpecials === undefined) {
      return this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids;
    }
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (!addSpecialTokens) return ids;
    const { bos, eos } = this.special;
    return [
      ...(this.explicitSpecials.bos && bos ? [bos.id] : []),
      ...ids,
      ...(this.explicitSpecials.eos && eos ? [eos.id] : []),
    ];
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) {
        throw new AppError('bad-input', `${this.source}: cannot decode token id ${id}: ids are non-negative integers`);
      }
    }
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The vocabulary string of a token id (e.g. `▁Hello`, `<0x0A>`, `<image>`), or undefined. */
  tokenString(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** The id of a vocabulary string, or undefined when it is not a token. */
  tokenId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** True for added tokens marked special (BOS, EOS, `<image>`, `<pad>`, chat markers). */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }
}

/** A special token given as a string or as an AddedToken object `{content}` in tokenizer_config.json. */
function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isJsonObject(v) && typeof v['content'] === 'string') return v['content'];
  return undefined;
}

function asAddedTokens(v: unknown, source: string): AddedTokenJson[] {
  if (v === undefined) return [];
  if (!Array.isArray(v))
    throw new AppError('bad-file', `${source}: field added_tokens is not a list`, { subject: source });
  return v as AddedTokenJson[];
}

/**
 * transformers also registers the tokens of `added_tokens_decoder` (tokenizer_config.json)
 * that tokenizer.json lacks; do the same so such ids encode and decode.
 */
function mergeAddedTokens(tokenizerJson: Record<string, unknown>, config: Record<string, unknown>): void {
  const decoder = config['added_tokens_decoder'];
  if (!isJsonObject(decoder)) return;
  const added = tokenizerJson['added_tokens'] as AddedTokenJson[];
  const known = new Set(added.map((t) => t.id));
  for (const [key, value] of Object.entries(decoder)) {
    const id = Number(key);
    if (known.has(id) || !isJsonObject(value) || typeof value['content'] !== 'string') continue;
    added.push({
      id,
      content: value['content'],
      special: value['special'] === true,
      single_word: value['single_word'] === true,
      lstrip: value['lstrip'] === true,
      rstrip: value['rstrip'] === true,
      normalized: value['normalized'] === true,
    });
  }
}
