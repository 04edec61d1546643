// The pairs a DPO run trains on, read and checked before any job is queued:
// from a project (kept pairs no person rejected, with their edits, as the export
// reads them) or from a JSONL pairs file (`images` relative to the file or
// absolute, `prompt` with one `<image>` per image, `chosen`, `rejected`). Each pair
// is tokenized as TRL's DPO trainer does: the prompt through the model's chat
// template (or verbatim with `raw`), one image token per image, and each response
// as plain text followed by the EOS token; on InternLM-XComposer-2.5 folders as
// IxcAppSession prompts and IxcSession scores (decision 0723). A bad pair fails the whole request
// with the file and line (or pair id) and the problem, before anything is stored.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { loadLlavaConfig } from '../../engine/models/config';
import { llavaSpec } from '../../engine/models/llava';
import { templateRenderOptions } from '../../engine/text/chat-template';
import { encodePrompt } from '../../engine/text/encode-prompt';
import { IMAGE_PLACEHOLDER } from '../../engine/text/image-placeholders';
import { loadGenerationEosIds } from '../../engine/text/stop-tokens';
import { ixcPromptSource } from '../../engine/generate/ixc-app-session';
import { modelFamilyOf } from '../../engine/models/adapter-base';
import { loadIxcConfig } from '../../engine/models/config-ixc';
import { encodeIxcPrompt, ixcResponseIds, IXC_IMAGE_PLACEHOLDER } from '../../engine/text/ixc-prompt';
import { hdTokenCount } from '../../engine/vision/hd-layout';
import { TextTokenizer } from '../../engine/text/tokenizer';

/** A pair as read, before tokenization. */
export interface SourcePair {
  /** Stable across reads: `pair-<id>` for a project pair, `<file>:<line>` for a pairs-file line. */
  key: string;
  /** Where to point a person at: `<file>:<line>` or `pair <id>`. */
  where: string;
  /** Absolute paths, in `<image>` order. */
  images: string[];
  prompt: string;
  chosen: string;
  rejected: string;
}

/** A pair ready for the trainer: what the train_examples table stores. */
export interface TrainExample {
  key: string;
  images: string[];
  /** The templated prompt with one image token per image (as `generate --json` reports input_ids). */
  promptIds: number[];
  /** Response tokens ending with EOS. */
  chosenIds: number[];
  rejectedIds: number[];
  /** sha256 of the token ids, the images' contents and the preprocessing: keys the reference log-probs. */
  tokenHash: string;
}

const bad = (where: string, problem: string, subject = where) =>
  new AppError('bad-input', `${where}: ${problem}`, { subject });

function field(obj: Record<string, unknown>, name: string, where: string): string {
  const v = obj[name];
  if (typeof v !== 'string') throw bad(where, `"${name}" must be a string${v === undefined ? ' (it is missing)' : ''}`);
  return v;
}

/** Reads a JSONL pairs file (blank lines skipped); every problem names the file and the line. */
export async function readPairsFile(file: string): Promise<SourcePair[]> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new AppError('not-found', `${abs}: cannot read the pairs file (${(e as Error).message})`, {
      subject: abs,
      cause: e,
    });
  }
  const dir = path.dirname(abs);
  const pairs: SourcePair[] = [];
  text.split('\n').forEach((line, i) => {
    const where = `${abs}:${i + 1}`;
    if (line.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw bad(where, `not valid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw bad(where, 'a line must be a JSON object with images, prompt, chosen and rejected');
    const o = obj as Record<string, unknown>;
    const rawImages = typeof o.images === 'string' ? [o.images] : (o.images ?? []);
    if (!Array.isArray(rawImages) || rawImages.some((x) => typeof x !== 'string' || x === ''))
      throw bad(where, '"images" must be a list of image paths');
    pairs.push({
      key: `${abs}:${i + 1}`,
      where,
      images: (rawImages as string[]).map((p) => path.resolve(dir, p)),
      prompt: field(o, 'prompt', where),
      chosen: field(o, 'chosen', where),
      rejected: field(o, 'rejected', where),
    });
  });
  if (pairs.length === 0) throw bad(abs, 'the pairs file holds no pairs', abs);
  return pairs;
}

/** The project's pairs as pairsForExport reads them (kept, not rejected by a person, edits applied). */
export function projectPairs(
  rows: readonly { id: number; prompt: string; chosen: string; rejected: string; images: string[] }[],
): SourcePair[] {
  if (rows.length === 0)
    throw new AppError('bad-input', 'the project has no kept pairs to train on: run select first', {
      subject: 'pairs',
    });
  return rows.map((r) => ({
    key: `pair-${r.id}`,
    where: `pair ${r.id}`,
    images: r.images,
    prompt: r.prompt,
    chosen: r.chosen,
    rejected: r.rejected,
  }));
}

const fileHashes = new Map<string, string>();

async function imageHash(file: string, where: string): Promise<string> {
  const s = existsSync(file) ? statSync(file) : null;
  if (s === null || !s.isFile())
    throw new AppError('not-found', `${where}: image ${file} does not exist`, { subject: file });
  const key = `${file}\0${s.size}\0${s.mtimeMs}`;
  const known = fileHashes.get(key);
  if (known !== undefined) return known;
  const h = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  fileHashes.set(key, h);
  return h;
}

export interface TokenizeOptions {
  raw: boolean;
  aspect: 'crop' | 'pad';
}

/** How one model family turns a pair's text into the trainer's ids (DpoExample's promptIds / chosenIds / rejectedIds). */
interface PairTokenizer {
  /** Image placeholders the prompt holds. */
  placeholders(prompt: string): number;
  /** The prompt's ids with one image marker per image; throws on an encoding problem. */
  prompt(prompt: string, images: readonly string[]): number[];
  /** A response's ids as the family's scoring ends it. */
  response(text: string): number[];
  /** The longest prompt plus answer the model takes, with the prompt's length counting its image rows; null = no limit. */
  context(promptIds: readonly number[], images: number): { length: number; max: number } | null;
  /** The image preprocessing the features are taken with (part of the token hash). */
  preprocessing: string;
}

/**
 * llava-hf: the prompt through the chat template (or verbatim), one image token per image, each response as plain
 * text then EOS (TRL's DPO trainer).
 */
async function llavaPairTokenizer(modelDir: string, o: TokenizeOptions): Promise<PairTokenizer> {
  const tokenizer = await TextTokenizer.fromFolder(modelDir);
  const spec = llavaSpec(await loadLlavaConfig(modelDir));
  const eos = tokenizer.special.eos?.id ?? (await loadGenerationEosIds(modelDir))[0];
  if (eos === undefined)
    throw new AppError('bad-file', `${modelDir}: the tokenizer has no EOS token to end the responses with`, {
      subject: modelDir,
    });
  const imageToken = tokenizer.special.image?.token ?? IMAGE_PLACEHOLDER;
  const render = templateRenderOptions('model');
  return {
    placeholders: (prompt) => prompt.split(IMAGE_PLACEHOLDER).length - 1,
    prompt(prompt, images) {
      const text = imageToken === IMAGE_PLACEHOLDER ? prompt : prompt.split(IMAGE_PLACEHOLDER).join(imageToken);
      return encodePrompt(tokenizer, o.raw ? { raw: text } : { messages: [{ role: 'user', content: text }], render }, {
        featureTokens: images.map(() => 1),
      }).ids;
    },
    response: (text) => [...tokenizer.encode(text, { addSpecialTokens: false }), eos],
    context: (ids, images) => ({
      length: ids.length + images * (spec.tokensPerImage - 1),
      max: spec.text.maxPositions,
    }),
    preprocessing: o.aspect,
  };
}

/**
 * InternLM-XComposer-2.5: the prompt as IxcAppSession builds it (`<image>` mapped to `<ImageHere>`, MIA-DPO's
 * `Image{n}:<image>` headers in the README's `Image1 <ImageHere>; ...` form, the chat format or `raw` text) with each
 * image marked -200 (`generate --json`'s input_ids); each response scored as IxcSession.score does (the text then
 * the end of turn). Images go through the HD transform (hd_num by image count), so `aspect` does not apply.
 */
async function ixcPairTokenizer(modelDir: string, o: TokenizeOptions): Promise<PairTokenizer> {
  const tokenizer = await TextTokenizer.fromFolder(modelDir);
  const config = await loadIxcConfig(modelDir);
  return {
    placeholders: (prompt) =>
      prompt.split(IMAGE_PLACEHOLDER).length - 1 + prompt.split(IXC_IMAGE_PLACEHOLDER).length - 1,
    prompt: (prompt, images) =>
      encodeIxcPrompt(tokenizer, ixcPromptSource({ prompt, images, raw: o.raw }), { images: images.length }).inputIds,
    response: (text) => ixcResponseIds(tokenizer, text),
    // Dynamic NTK grows the rotary base instead of limiting the context (as IxcSession generates); an image's rows
    // depend on its size, so the check without NTK counts the fewest an image can take (a 1x1 crop grid).
    context: (ids, images) =>
      config.rope_scaling.type === 'dynamic'
        ? null
        : {
            length: ids.length + images * (hdTokenCount({ rows: 1, cols: 1 }, config.vision_config.merged_side) - 1),
            max: config.max_position_embeddings,
          },
    preprocessing: 'hd',
  };
}

/** Tokenizes and checks every pair against the model (images present, answers not blank, prompt plus answer in the context). */
export async function tokenizePairs(
  modelDir: string,
  pairs: readonly SourcePair[],
  o: TokenizeOptions,
): Promise<TrainExample[]> {
  const family = await modelFamilyOf(modelDir);
  const tokens = family === 'ixc' ? await ixcPairTokenizer(modelDir, o) : await llavaPairTokenizer(modelDir, o);
  const out: TrainExample[] = [];
  for (const p of pairs) {
    const placeholders = tokens.placeholders(p.prompt);
    if (placeholders !== p.images.length)
      throw bad(
        p.where,
        `the prompt has ${placeholders} ${family === 'ixc' ? `${IMAGE_PLACEHOLDER} / ${IXC_IMAGE_PLACEHOLDER}` : IMAGE_PLACEHOLDER} placeholder(s) for ${p.images.length} image(s)`,
      );
    if (p.chosen.trim() === '') throw bad(p.where, 'the chosen answer is empty');
    if (p.rejected.trim() === '') throw bad(p.where, 'the rejected answer is empty');
    const hashes = [];
    for (const image of p.images) hashes.push(await imageHash(image, p.where));
    let promptIds: number[];
    try {
      promptIds = tokens.prompt(p.prompt, p.images);
    } catch (e) {
      throw bad(p.where, `the prompt cannot be encoded: ${(e as Error).message}`);
    }
    const chosenIds = tokens.response(p.chosen);
    const rejectedIds = tokens.response(p.rejected);
    const context = tokens.context(promptIds, p.images.length);
    if (context !== null) {
      const longest = context.length + Math.max(chosenIds.length, rejectedIds.length);
      if (longest > context.max)
        throw bad(
          p.where,
          `the prompt (${context.length} tokens with its image tokens) plus the longer answer is ${longest} tokens, more than the model's context of ${context.max}`,
        );
    }
    const tokenHash = createHash('sha256')
      .update(JSON.stringify({ promptIds, chosenIds, rejectedIds, images: hashes, aspect: tokens.preprocessing }))
      .digest('hex');
    out.push({ key: p.key, images: p.images, promptIds, chosenIds, rejectedIds, tokenHash });
  }
  return out;
}

/** Identifies a dataset: the same pairs tokenized alike hash alike. */
export function datasetHash(examples: readonly TrainExample[]): string {
  const h = createHash('sha256');
  for (const e of examples) h.update(`${e.key}\0${e.tokenHash}\n`);
  return h.digest('hex');
}
