// When generation stops: the EOS ids of generation_config.json (an int or a list)
// and of the tokenizer, plus stop strings matched on the decoded text.

import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { isJsonObject, readJsonFile } from './json-file';
import type { TextTokenizer } from './tokenizer';

export const GENERATION_CONFIG_FILE = 'generation_config.json';

export interface StopCriteria {
  /** Generation ends after emitting any of these ids. */
  tokenIds: ReadonlySet<number>;
  /** Generation ends when the text produced contains any of these. */
  strings: readonly string[];
}

/** `eos_token_id` of a model folder's generation_config.json (an empty list when absent). */
export async function loadGenerationEosIds(dir: string): Promise<number[]> {
  const path = join(dir, GENERATION_CONFIG_FILE);
  const config = await readJsonFile(path, { optional: true });
  if (config === undefined) return [];
  if (!isJsonObject(config)) throw new AppError('bad-file', `${path} is not a JSON object`, { subject: path });
  return eosIdsOf(config['eos_token_id'], path);
}

export function eosIdsOf(value: unknown, file: string): number[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new AppError(
        'bad-file',
        `${file}: eos_token_id must be a token id or a list of ids, got ${JSON.stringify(value)}`,
        {
          subject: file,
        },
      );
    }
  }
  return list as number[];
}

export function stopCriteria(
  tokenizer: Pick<TextTokenizer, 'special'>,
  generationEosIds: readonly number[],
  stopStrings: readonly string[] = [],
): StopCriteria {
  const ids = new Set(generationEosIds);
  if (tokenizer.special.eos) ids.add(tokenizer.special.eos.id);
  const strings = stopStrings.filter((s) => s.length > 0);
  return { tokenIds: ids, strings };
}

/**
 * The index in `text` where the earliest stop string starts, looking only at text
 * that could contain a match not seen before (`checkedUpTo` = length already checked).
 */
export function findStopString(
  text: string,
  strings: readonly string[],
  checkedUpTo = 0,
): { index: number; stop: string } | undefined {
  let best: { index: number; stop: string } | undefined;
  for (const stop of strings) {
    const index = text.indexOf(stop, Math.max(0, checkedUpTo - stop.length + 1));
    if (index >= 0 && (best === undefined || index < best.index)) best = { index, stop };
  }
  return best;
}
