// Stop criteria: EOS ids from generation_config.json (int or list) plus the
// tokenizer's EOS, and stop strings found in streamed text.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findStopString, loadGenerationEosIds, stopCriteria } from '../../../../electron/engine/text';

function folderWith(generationConfig: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'gen-cfg-'));
  if (generationConfig !== undefined) writeFileSync(join(dir, 'generation_config.json'), generationConfig);
  return dir;
}

const llavaLike = { special: { eos: { token: '</s>', id: 2 } } };

describe('stop tokens', () => {
  it('reads eos_token_id as an int or a list', async () => {
    expect(await loadGenerationEosIds(folderWith('{"eos_token_id": 2}'))).toEqual([2]);
    expect(await loadGenerationEosIds(folderWith('{"eos_token_id": [151645, 151643]}'))).toEqual([151645, 151643]);
    expect(await loadGenerationEosIds(folderWith('{"max_new_tokens": 5}'))).toEqual([]);
    expect(await loadGenerationEosIds(folderWith(undefined))).toEqual([]);
  });

  it('names the file and value of a bad eos_token_id', async () => {
    const dir = folderWith('{"eos_token_id": "eos"}');
    await expect(loadGenerationEosIds(dir)).rejects.toThrow(
      `${join(dir, 'generation_config.json')}: eos_token_id must be a token id or a list of ids, got "eos"`,
    );
  });

  it('joins generation-config ids with the tokenizer EOS and keeps non-empty stop strings', () => {
    const c = stopCriteria(llavaLike, [151645, 2], ['\nUSER:', '']);
    expect([...c.tokenIds].sort((a, b) => a - b)).toEqual([2, 151645]);
    expect(c.strings).toEqual(['\nUSER:']);
    expect([...stopCriteria({ special: {} }, []).tokenIds]).toEqual([]);
  });

  it('finds the earliest stop string, including one that straddles the checked boundary', () => {
    expect(findStopString('A cat.\nUSER: more', ['USER:', '.'])).toEqual({ index: 5, stop: '.' });
    expect(findStopString('A cat\nUS', ['\nUSER:'])).toBeUndefined();
    expect(findStopString('A cat\nUSER: x', ['\nUSER:'], 8)).toEqual({ index: 5, stop: '\nUSER:' });
    expect(findStopString('abcdef', ['abc'], 6)).toBeUndefined();
  });
});
