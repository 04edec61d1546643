// Exports of the kept pairs in three formats, each a self-contained folder:
// the reference implementation's JSON, TRL's preference JSONL, and
// LLaMA-Factory's ShareGPT ranking JSON with its dataset_info.json entry.
// Images (composites and sequence images) are copied into `images/` by hash;
// TRL and LLaMA-Factory exports also get a training config (training-config.ts).
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../shared/errors';
import { IMAGE_PLACEHOLDER } from '../../engine/text/image-placeholders';
import { EXPORT_FORMATS } from '../../../shared/pipeline/commands';
import { llamaFactoryConfig, trlConfig } from './training-config';

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
export const EXPORT_FILES: Record<ExportFormat, string> = { mia: 'mia_dpo.json', trl: 'train.jsonl', llamafactory: 'mia_dpo.json' };
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
  if (n !== p.images.length) throw new AppError('internal', `pair ${p.id}: prompt has ${n} ${IMAGE_PLACEHOLDER} placeholder(s) for ${p.images.length} image(s)`, { subject: p.id });
}

function miaRecords(pairs: readonly ExportPair[], rel: Map<string, string>): string {
  return JSON.stringify(
    pairs.map((p) => ({ id: p.id, image: p.images.map((f) => rel.get(f)), prompt: p.prompt, chosen: p.chosen, rejected: p.rejected })),
    null,
    2,
  );
}

/** TRL conversational preference rows: image slots in the user content, text after them. */
function trlRecords(pairs: readonly ExportPair[], rel: Map<string, string>): string {
  return pairs
    .map((p) => {
      const content = p.prompt.split(IMAGE_PLACEHOLDER).flatMap((text, i) => {
        const parts: object[] = i > 0 ? [{ type: 'image' }] : [];
        return text.length > 0 ? [...parts, { type: 'text', text }] : parts;
      });
      return JSON.stringify({
        id: p.id,
        prompt: [{ role: 'user', content }],
        chosen: [{ role: 'assistant', content: [{ type: 'text', text: p.chosen }] }],
        rejected: [{ role: 'assistant', content: [{ type: 'text', text: p.rejected }] }],
        images: p.images.map((f) => rel.get(f)),
      });
    })
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
export async function exportPairs(pairs: readonly ExportPair[], format: ExportFormat, outDir: string): Promise<string[]> {
  pairs.forEach(checkPlaceholders);
  await mkdir(outDir, { recursive: true });
  const rel = await copyImages(pairs, outDir);
  const main = path.join(outDir, EXPORT_FILES[format]);
  const body = format === 'mia' ? miaRecords(pairs, rel) : format === 'trl' ? trlRecords(pairs, rel) : llamaFactoryRecords(pairs, rel);
  await writeFile(main, body);
  const written = [main, ...[...rel.values()].map((r) => path.join(outDir, r))];
  if (format === 'llamafactory') {
    const info = path.join(outDir, 'dataset_info.json');
    await writeFile(info, JSON.stringify(llamaFactoryDatasetInfo(), null, 2));
    const config = path.join(outDir, 'train_mia_dpo.yaml');
    await writeFile(config, llamaFactoryConfig(LLAMAFACTORY_DATASET));
    written.push(info, config);
  }
  if (format === 'trl') {
    const config = path.join(outDir, 'dpo_config.json');
    await writeFile(config, JSON.stringify(trlConfig(EXPORT_FILES.trl), null, 2));
    written.push(config);
  }
  return written;
}
