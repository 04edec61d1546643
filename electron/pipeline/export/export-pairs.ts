// Exports of the kept pairs in three formats, each a self-contained folder:
// the reference implementation's JSON, TRL's preference JSONL, and
// LLaMA-Factory's ShareGPT ranking JSON with its dataset_info.json entry.
// Images (composites and sequence images) are copied into `images/` by hash;
// every export also gets its training config (training-config.ts), which states
// the reference's `pad` image preprocessing; TRL's comes with a runnable script.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { IMAGE_PLACEHOLDER } from '../../engine/text/image-placeholders';
import { EXPORT_FORMATS } from '../../../shared/pipeline/commands';
import { llamaFactoryConfig, referenceTrainArgs, TRL_SCRIPT, trlDpoConfig, trlLoraConfig } from './training-config';

export { EXPORT_FORMATS };
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportPair {
  id: string;
  /** Absolute paths of the images the prompt shows, in `<image>` order. */
  images: string[];
  /** The rewritten first human turn, with one `<image>` per image. */
  prompt: string;
  chosen: string;
  rejected: string;
}

/** File each format writes its records to, inside the output folder. */
export const EXPORT_FILES: Record<ExportFormat, string> = {
  mia: 'mia_dpo.json',
  trl: 'train.jsonl',
  llamafactory: 'mia_dpo.json',
};
/** Files written beside a TRL export: DPOConfig and LoraConfig keyword arguments, and the script that reads them. */
export const TRL_FILES = {
  dpoConfig: 'dpo_config.json',
  loraConfig: 'lora_config.json',
  script: 'train_dpo.py',
} as const;
/** Dataset name of the LLaMA-Factory `dataset_info.json` entry. */
export const LLAMAFACTORY_DATASET = 'mia_dpo';

async function copyImages(pairs: readonly ExportPair[], outDir: string): Promise<Map<string, string>> {
  const rel = new Map<string, string>();
  await mkdir(path.join(outDir, 'images'), { recursive: true });
  for (const file of new Set(pairs.flatMap((p) => p.images))) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (e) {
      throw new AppError('not-found', `export: image ${file} is missing`, { subject: file, cause: e });
    }
    const name = `images/${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}${path.extname(file).toLowerCase()}`;
    await copyFile(file, path.join(outDir, name));
    rel.set(file, name);
  }
  return rel;
}

function checkPlaceholders(p: ExportPair): void {
  const n = p.prompt.split(IMAGE_PLACEHOLDER).length - 1;
  if (n !== p.images.length)
    throw new AppError(
      'internal',
      `pair ${p.id}: prompt has ${n} ${IMAGE_PLACEHOLDER} placeholder(s) for ${p.images.length} image(s)`,
      { subject: p.id },
    );
}

/**
 * The reference's DPO records (make_data_*.py): `id`, `image` (a path for one
 * image, as its grid and pic-in-pic records, a list for a sequence), `prompt`,
 * `chosen`, `rejected` and `gt` (the ground truth, which is the chosen answer).
 */
function miaRecords(pairs: readonly ExportPair[], rel: Map<string, string>): string {
  return JSON.stringify(
    pairs.map((p) => {
      const images = p.images.map((f) => rel.get(f) as string);
      return {
        id: p.id,
        image: images.length === 1 ? images[0] : images,
        prompt: p.prompt,
        chosen: p.chosen,
        rejected: p.rejected,
        gt: p.chosen,
      };
    }),
    null,
    2,
  );
}

type ContentPart = { type: 'image' } | { type: 'text'; text: string };

/**
 * The user content of a TRL row. llava-hf's chat template renders every image
 * part first and the text parts after them, so a sequence prompt split into
 * parts would lose the `ImageN:` label beside each image: a prompt with several
 * images stays ONE text part with its `<image>` tokens inline (the processor
 * expands each in place). A one-image prompt (`<image>\n` + question) becomes
 * an image part and the question, without the newline the template adds itself.
 */
export function trlUserContent(prompt: string): ContentPart[] {
  const rest = prompt.startsWith(`${IMAGE_PLACEHOLDER}\n`) ? prompt.slice(IMAGE_PLACEHOLDER.length + 1) : null;
  if (rest !== null && !rest.includes(IMAGE_PLACEHOLDER)) return [{ type: 'image' }, { type: 'text', text: rest }];
  return [{ type: 'text', text: prompt }];
}

/** TRL conversational preference rows (train.jsonl), images relative to the export folder. */
function trlRecords(pairs: readonly ExportPair[], rel: Map<string, string>): string {
  return pairs
    .map((p) =>
      JSON.stringify({
        id: p.id,
        prompt: [{ role: 'user', content: trlUserContent(p.prompt) }],
        chosen: [{ role: 'assistant', content: [{ type: 'text', text: p.chosen }] }],
        rejected: [{ role: 'assistant', content: [{ type: 'text', text: p.rejected }] }],
        images: p.images.map((f) => rel.get(f)),
      }),
    )
    .join('\n')
    .concat(pairs.length > 0 ? '\n' : '');
}

function llamaFactoryRecords(pairs: readonly ExportPair[], rel: Map<string, string>): string {
  return JSON.stringify(
    pairs.map((p) => ({
      conversations: [{ from: 'human', value: p.prompt }],
      chosen: { from: 'gpt', value: p.chosen },
      rejected: { from: 'gpt', value: p.rejected },
      images: p.images.map((f) => rel.get(f)),
    })),
    null,
    2,
  );
}

export function llamaFactoryDatasetInfo(): Record<string, unknown> {
  return {
    [LLAMAFACTORY_DATASET]: {
      file_name: EXPORT_FILES.llamafactory,
      formatting: 'sharegpt',
      ranking: true,
      columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', images: 'images' },
    },
  };
}

/** Writes the export into `outDir` (created); returns the files written. */
export async function exportPairs(
  pairs: readonly ExportPair[],
  format: ExportFormat,
  outDir: string,
): Promise<string[]> {
  pairs.forEach(checkPlaceholders);
  await mkdir(outDir, { recursive: true });
  const rel = await copyImages(pairs, outDir);
  const main = path.join(outDir, EXPORT_FILES[format]);
  const body =
    format === 'mia'
      ? miaRecords(pairs, rel)
      : format === 'trl'
        ? trlRecords(pairs, rel)
        : llamaFactoryRecords(pairs, rel);
  await writeFile(main, body);
  const written = [main, ...[...rel.values()].map((r) => path.join(outDir, r))];
  const extra: [string, string][] = [];
  if (format === 'mia') extra.push(['train_args.json', JSON.stringify(referenceTrainArgs(), null, 2)]);
  if (format === 'llamafactory') {
    extra.push(
      ['dataset_info.json', JSON.stringify(llamaFactoryDatasetInfo(), null, 2)],
      ['train_mia_dpo.yaml', llamaFactoryConfig(LLAMAFACTORY_DATASET)],
    );
  }
  if (format === 'trl') {
    extra.push(
      [TRL_FILES.dpoConfig, JSON.stringify(trlDpoConfig(), null, 2)],
      [TRL_FILES.loraConfig, JSON.stringify(trlLoraConfig(), null, 2)],
      [TRL_FILES.script, TRL_SCRIPT],
    );
  }
  for (const [name, body] of extra) {
    const file = path.join(outDir, name);
    await writeFile(file, body);
    written.push(file);
  }
  return written;
}
