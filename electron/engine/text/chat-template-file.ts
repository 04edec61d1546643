// Finds a model's own chat template: `chat_template` in tokenizer_config.json
// (a string, or a list of named templates), else `chat_template.jinja`, else
// `chat_template.json` (the processor's template in llava-hf folders).

import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { isJsonObject, readJsonFile, readTextFile } from './json-file';

export async function loadChatTemplate(
  dir: string,
  tokenizerConfig: Record<string, unknown>,
): Promise<string | undefined> {
  const fromConfig = pickTemplate(tokenizerConfig['chat_template'], join(dir, 'tokenizer_config.json'));
  if (fromConfig !== undefined) return fromConfig;
  const jinja = await readTextFile(join(dir, 'chat_template.jinja'), { optional: true });
  if (jinja !== undefined) return jinja;
  const jsonPath = join(dir, 'chat_template.json');
  const json = await readJsonFile(jsonPath, { optional: true });
  if (json === undefined) return undefined;
  if (!isJsonObject(json)) throw new AppError('bad-file', `${jsonPath} is not a JSON object`, { subject: jsonPath });
  const template = pickTemplate(json['chat_template'], jsonPath);
  if (template === undefined)
    throw new AppError('bad-file', `${jsonPath} has no chat_template string`, { subject: jsonPath });
  return template;
}

/** A template string, or the one named `default` in a list of `{name, template}`. */
function pickTemplate(v: unknown, file: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.find((t) => isJsonObject(t) && t['name'] === 'default');
    if (isJsonObject(named) && typeof named['template'] === 'string') return named['template'];
  }
  throw new AppError('bad-file', `${file}: chat_template is neither a string nor a list with a "default" template`, {
    subject: file,
  });
}
