// Reads the small JSON files of a Hugging Face model folder (tokenizer, chat
// template, generation and preprocessor configs) with errors that name the file.
// Shared by the text and vision preprocessing of the engine.

import { readFile } from 'node:fs/promises';
import { AppError } from '../../../shared/errors';

/** Parsed JSON of `path`; `undefined` when `optional` and the file does not exist. */
export async function readJsonFile(path: string, options: { optional: true }): Promise<unknown>;
export async function readJsonFile(path: string, options?: { optional?: false }): Promise<unknown>;
export async function readJsonFile(path: string, options: { optional?: boolean } = {}): Promise<unknown> {
  const text = await readTextFile(path, options);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('bad-file', `${path} is not valid JSON: ${(e as Error).message}`, { subject: path, cause: e });
  }
}

/** Text of `path`; `undefined` when `optional` and the file does not exist. */
export async function readTextFile(path: string, options: { optional?: boolean } = {}): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.optional) return undefined;
    if (code === 'ENOENT') throw new AppError('not-found', `${path} does not exist`, { subject: path, cause: e });
    throw new AppError('bad-file', `${path} cannot be read: ${(e as Error).message}`, { subject: path, cause: e });
  }
}

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
