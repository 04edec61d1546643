// The optional generation_config.json of a model folder: the stop tokens and
// sampling defaults the model's authors chose. Unknown fields are ignored, as
// transformers does; a field of the wrong type is an error naming it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../../shared/errors';

const tokenId = z.number().int().nonnegative();

const schema = z.looseObject({
  bos_token_id: tokenId.nullish(),
  eos_token_id: z.union([tokenId, z.array(tokenId)]).nullish(),
  pad_token_id: tokenId.nullish(),
  max_new_tokens: z.number().int().positive().nullish(),
  max_length: z.number().int().positive().nullish(),
  do_sample: z.boolean().nullish(),
  temperature: z.number().nonnegative().nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.number().int().nonnegative().nullish(),
  repetition_penalty: z.number().positive().nullish(),
});

export interface GenerationConfig {
  bosTokenId?: number;
  /** Always a list (some models give one id, some several). */
  eosTokenIds: number[];
  padTokenId?: number;
  maxNewTokens?: number;
  maxLength?: number;
  doSample?: boolean;
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
}

const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as T;

export function parseGenerationConfig(raw: unknown, file = 'generation_config.json'): GenerationConfig {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    const field = issue.path.map(String).join('.') || '(root)';
    throw new AppError('bad-input', `${file}: ${field} is invalid: ${issue.message}`, { subject: field });
  }
  const c = r.data;
  const eos = c.eos_token_id;
  return defined({
    bosTokenId: c.bos_token_id ?? undefined,
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
    padTokenId: c.pad_token_id ?? undefined,
    maxNewTokens: c.max_new_tokens ?? undefined,
    maxLength: c.max_length ?? undefined,
    doSample: c.do_sample ?? undefined,
    temperature: c.temperature ?? undefined,
    topP: c.top_p ?? undefined,
    topK: c.top_k ?? undefined,
    repetitionPenalty: c.repetition_penalty ?? undefined,
  });
}

/** `dir/generation_config.json`, or undefined when the folder has none. */
export async function loadGenerationConfig(dir: string): Promise<GenerationConfig | undefined> {
  const file = path.join(dir, 'generation_config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new AppError('bad-file', `${file}: not valid JSON (${(e as Error).message})`, { subject: file, cause: e });
  }
  return parseGenerationConfig(json, file);
}
