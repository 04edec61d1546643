// Where a model's chat template comes from: tokenizer_config.json (string or
// named list), chat_template.jinja, chat_template.json; bad forms name the file.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../../../../electron/engine/text';
import { llavaTokenizerFolder } from './tokenizer-fixtures';

describe('chat template files', () => {
  it('prefers tokenizer_config.json, taking the "default" entry of a named list', async () => {
    const dir = llavaTokenizerFolder({
      chatTemplate: true,
      config: {
        chat_template: [
          { name: 'tool_use', template: 'T' },
          { name: 'default', template: 'D' },
        ],
      },
    });
    expect((await TextTokenizer.fromFolder(dir)).chatTemplate).toBe('D');
  });

  it('reads chat_template.jinja before chat_template.json', async () => {
    const dir = llavaTokenizerFolder({ chatTemplate: true });
    writeFileSync(join(dir, 'chat_template.jinja'), '{{ messages[0].content }}');
    expect((await TextTokenizer.fromFolder(dir)).chatTemplate).toBe('{{ messages[0].content }}');
  });

  it('names a chat_template.json without a template string', async () => {
    const dir = llavaTokenizerFolder();
    writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ template: 'x' }));
    await expect(TextTokenizer.fromFolder(dir)).rejects.toThrow(
      `${join(dir, 'chat_template.json')} has no chat_template string`,
    );
  });

  it('names a tokenizer_config.json whose chat_template list has no default', async () => {
    const dir = llavaTokenizerFolder({ config: { chat_template: [{ name: 'rag', template: 'R' }] } });
    await expect(TextTokenizer.fromFolder(dir)).rejects.toThrow(
      /tokenizer_config.json: chat_template is neither a string nor a list with a "default" template/,
    );
  });
});
