// The model's tokenizer: `tokenizer.json` run by @huggingface/tokenizers or, in a folder
// without one, a SentencePiece `tokenizer.model` run by sentencepiece.ts; with the
// settings of `tokenizer_config.json` that either leaves to the caller
// (add_bos_token / add_eos_token, special token names, the `<image>` token).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { AppError } from '../../../shared/errors';
import { isJsonObject, readJsonFile } from './json-file';
import { loadChatTemplate } from './chat-template-file';
import { IMAGE_PLACEHOLDER } from './image-placeholders';
import { SentencePieceProcessor } from './sentencepiece';
import { PrefixMatcher } from './sentencepiece-normalizer';

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
/** The SentencePiece model, read when the folder has no tokenizer.json. */
export const SENTENCEPIECE_FILE = 'tokenizer.model';
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

type Role = 'bos' | 'eos' | 'pad' | 'unk';

/** What TextTokenizer needs of a tokenizer implementation. */
interface TokenizerCore {
  /** Ids of `text`; with `addSpecialTokens`, the BOS/EOS the implementation adds by default. */
  encode(text: string, addSpecialTokens: boolean): number[];
  decode(ids: number[], skipSpecialTokens: boolean): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  readonly vocabSize: number;
  readonly specialIds: ReadonlySet<number>;
  /** Role tokens the implementation knows itself (SentencePiece's trainer spec), used when the config names none. */
  readonly roles: Partial<Record<Role, string>>;
}

export class TextTokenizer {
  readonly special: SpecialTokens;
  /** The model's own chat template, when it has one (tokenizer_config.json or chat_template.json/.jinja). */
  readonly chatTemplate: string | undefined;
  /** Number of token ids with a string, added tokens included. */
  readonly vocabSize: number;
  /** Where the tokenizer came from, for error messages. */
  readonly source: string;
  private readonly core: TokenizerCore;
  /** Set when tokenizer_config.json states add_bos_token/add_eos_token: they then replace the post-processor. */
  private readonly explicitSpecials: { bos: boolean; eos: boolean } | undefined;

  private constructor(
    core: TokenizerCore,
    config: Record<string, unknown>,
    init: {
      source: string;
      chatTemplate: string | undefined;
      imageToken: string | undefined;
    },
  ) {
    this.source = init.source;
    this.core = core;
    this.vocabSize = core.vocabSize;
    this.special = {};
    for (const role of ['bos', 'eos', 'pad', 'unk'] as const) {
      const token = tokenName(config[`${role}_token`]) ?? core.roles[role];
      const id = token === undefined ? undefined : core.tokenToId(token);
      if (token !== undefined && id !== undefined) this.special[role] = { token, id };
    }
    const imageToken = init.imageToken ?? tokenName(config['image_token']) ?? IMAGE_PLACEHOLDER;
    const imageId = core.tokenToId(imageToken);
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

  /**
   * Loads the tokenizer of a model folder: `tokenizer.json`, or `tokenizer.model` (SentencePiece)
   * when there is no tokenizer.json; with `tokenizer_config.json` and the chat template.
   */
  static async fromFolder(dir: string, options: TokenizerLoadOptions = {}): Promise<TextTokenizer> {
    const tokenizerPath = join(dir, TOKENIZER_FILE);
    const configPath = join(dir, TOKENIZER_CONFIG_FILE);
    const tokenizerJson = await readJsonFile(tokenizerPath, { optional: true });
    const config = (await readJsonFile(configPath, { optional: true })) ?? {};
    if (!isJsonObject(config))
      throw new AppError('bad-file', `${configPath} is not a JSON object`, { subject: configPath });
    const chatTemplate = await loadChatTemplate(dir, config);
    if (tokenizerJson === undefined) {
      const modelPath = join(dir, SENTENCEPIECE_FILE);
      if (!existsSync(modelPath)) {
        const why = `no tokenizer: neither ${tokenizerPath} nor ${modelPath} exists`;
        throw new AppError('not-found', why, { subject: tokenizerPath });
      }
      const core = sentencePieceCore(await SentencePieceProcessor.fromFile(modelPath), config, modelPath);
      return new TextTokenizer(core, config, { source: modelPath, chatTemplate, imageToken: options.imageToken });
    }
    if (!isJsonObject(tokenizerJson))
      throw new AppError('bad-file', `${tokenizerPath} is not a JSON object`, { subject: tokenizerPath });
    return TextTokenizer.fromJson(tokenizerJson, config, { source: tokenizerPath, chatTemplate, ...options });
  }

  /** Builds a tokenizer from already parsed tokenizer.json and config files (the objects are not modified). */
  static fromJson(
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
    init: TokenizerLoadOptions & { source: string; chatTemplate?: string },
  ): TextTokenizer {
    const copy = { ...tokenizerJson, added_tokens: [...asAddedTokens(tokenizerJson['added_tokens'], init.source)] };
    return new TextTokenizer(huggingFaceCore(copy, config, init.source), config, {
      source: init.source,
      chatTemplate: init.chatTemplate,
      imageToken: init.imageToken,
    });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecialTokens = options.addSpecialTokens ?? true;
    if (this.explicitSpecials === undefined) return this.core.encode(text, addSpecialTokens);
    const ids = this.core.encode(text, false);
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
    return this.core.decode([...ids], options.skipSpecialTokens ?? false);
  }

  /** The vocabulary string of a token id (e.g. `▁Hello`, `<0x0A>`, `<image>`), or undefined. */
  tokenString(id: number): string | undefined {
    return this.core.idToToken(id);
  }

  /** The id of a vocabulary string, or undefined when it is not a token. */
  tokenId(token: string): number | undefined {
    return this.core.tokenToId(token);
  }

  /** True for special tokens: added tokens marked special (BOS, EOS, `<image>`, chat markers), control pieces. */
  isSpecial(id: number): boolean {
    return this.core.specialIds.has(id);
  }
}

function huggingFaceCore(
  tokenizerJson: Record<string, unknown>,
  config: Record<string, unknown>,
  source: string,
): TokenizerCore {
  mergeAddedTokens(tokenizerJson, config);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, config);
  } catch (e) {
    throw new AppError('unsupported', `${source}: the tokenizer cannot be built: ${(e as Error).message}`, {
      subject: source,
      cause: e,
    });
  }
  const added = [...tokenizer.get_added_tokens_decoder().values()];
  return {
    encode: (text, addSpecialTokens) => tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    decode: (ids, skipSpecialTokens) => tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens }),
    idToToken: (id) => tokenizer.id_to_token(id),
    tokenToId: (token) => tokenizer.token_to_id(token),
    vocabSize: tokenizer.get_vocab(true).size,
    specialIds: new Set(added.filter((t) => t.special).map((t) => t.id)),
    roles: {},
  };
}

/**
 * A SentencePiece model as transformers' slow tokenizers (LlamaTokenizer, InternLM2Tokenizer)
 * use it: literal special tokens in the text (control pieces such as `<s>`, `</s>`, `<unk>`,
 * and the special tokens tokenizer_config.json names) are split out and kept whole, and each
 * text part between them is encoded by SentencePiece on its own. BOS is added by default
 * (their add_bos_token default); tokenizer_config.json may say otherwise.
 */
function sentencePieceCore(
  spm: SentencePieceProcessor,
  config: Record<string, unknown>,
  source: string,
): TokenizerCore {
  checkAddedTokens(spm, config, source);
  const specialIds = new Set<number>();
  spm.pieces.forEach((p, id) => {
    if (p.type === 'control' || p.type === 'unknown') specialIds.add(id);
  });
  for (const name of configSpecialTokens(config)) {
    const id = spm.pieceToId(name);
    if (id !== undefined) specialIds.add(id);
  }
  const splitters = new PrefixMatcher([...specialIds].map((id) => spm.idToPiece(id)!));
  const roleOf = (id: number): string | undefined => (id >= 0 ? spm.idToPiece(id) : undefined);
  return {
    encode: (text, addSpecialTokens) => {
      const ids = addSpecialTokens && spm.bosId >= 0 ? [spm.bosId] : [];
      let rest = 0;
      for (let pos = 0; pos < text.length;) {
        const n = splitters.match(text, pos);
        if (n === 0) {
          pos++;
          continue;
        }
        ids.push(...spm.encode(text.slice(rest, pos)), spm.pieceToId(text.slice(pos, pos + n))!);
        pos += n;
        rest = pos;
      }
      ids.push(...spm.encode(text.slice(rest)));
      return ids;
    },
    decode: (ids, skipSpecialTokens) => {
      for (const id of ids) {
        if (id >= spm.pieces.length) {
          const why = `the vocabulary has ${spm.pieces.length} pieces`;
          throw new AppError('bad-input', `${source}: cannot decode token id ${id}: ${why}`, { subject: source });
        }
      }
      return spm.decode(skipSpecialTokens ? ids.filter((id) => !specialIds.has(id)) : ids);
    },
    idToToken: (id) => spm.idToPiece(id),
    tokenToId: (token) => spm.pieceToId(token),
    vocabSize: spm.pieces.length,
    specialIds,
    roles: { bos: roleOf(spm.bosId), eos: roleOf(spm.eosId), pad: roleOf(spm.padId), unk: roleOf(spm.unkId) },
  };
}

/**
 * tokenizer_config.json's `added_tokens_decoder` must name pieces of the model: tokens added
 * beyond it (ids past the last piece) are not supported on a SentencePiece folder.
 */
function checkAddedTokens(spm: SentencePieceProcessor, config: Record<string, unknown>, source: string): void {
  const decoder = config['added_tokens_decoder'];
  if (!isJsonObject(decoder)) return;
  for (const [key, value] of Object.entries(decoder)) {
    const content = tokenName(value);
    const piece = spm.idToPiece(Number(key));
    if (content === undefined || piece === content) continue;
    const why =
      piece === undefined
        ? `is past the model's ${spm.pieces.length} pieces (tokens added to a SentencePiece model are not supported)`
        : `is ${JSON.stringify(piece)} in the model`;
    throw new AppError(
      'unsupported',
      `${source}: tokenizer_config.json adds token ${JSON.stringify(content)} as id ${key}, which ${why}`,
      { subject: source },
    );
  }
}

/** Token strings tokenizer_config.json marks special: the role tokens, additional_special_tokens, special added tokens. */
function configSpecialTokens(config: Record<string, unknown>): string[] {
  const names: (string | undefined)[] = ['bos', 'eos', 'pad', 'unk'].map((role) => tokenName(config[`${role}_token`]));
  const additional = config['additional_special_tokens'];
  if (Array.isArray(additional)) names.push(...additional.map(tokenName));
  const decoder = config['added_tokens_decoder'];
  if (isJsonObject(decoder)) {
    for (const value of Object.values(decoder)) {
      if (isJsonObject(value) && value['special'] === true) names.push(tokenName(value));
    }
  }
  return names.filter((n): n is string => n !== undefined && n !== '');
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
