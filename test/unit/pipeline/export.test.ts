import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExportPair } from '../../../electron/pipeline/export/export-pairs';
import { exportPairs } from '../../../electron/pipeline/export/export-pairs';
import { makeImage, tempDir } from './fixture-images';

let dir: string;
let pairs: ExportPair[];

beforeAll(async () => {
  dir = await tempDir();
  const a = await makeImage(dir, 'a.jpg', 64, 48, 1);
  const b = await makeImage(dir, 'b.png', 48, 64, 2);
  const grid = await makeImage(dir, 'grid.png', 100, 50, 3);
  pairs = [
    { id: 'p1', images: [a, b], prompt: 'Image1:<image>\nImage2:<image>\nIn Image2, what is it?', chosen: 'A cat.', rejected: 'A dog.' },
    { id: 'p2', images: [grid], prompt: '<image>\nIn Image1, what colour?', chosen: 'Red.', rejected: 'Blue "dark".' },
  ];
});

async function json(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8'));
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

describe('exports', () => {
  it('reference JSON parses back with copied images', async () => {
    const out = path.join(dir, 'mia');
    await exportPairs(pairs, 'mia', out);
    const rows = (await json(path.join(out, 'mia_dpo.json'))) as { id: string; image: string[]; prompt: string; chosen: string; rejected: string }[];
    expect(rows.map((r) => [r.id, r.prompt, r.chosen, r.rejected])).toEqual(pairs.map((p) => [p.id, p.prompt, p.chosen, p.rejected]));
    expect(rows[0]!.image).toHaveLength(2);
    for (const [i, r] of rows.entries()) {
      for (const [k, rel] of r.image.entries()) {
        expect(path.isAbsolute(rel)).toBe(false);
        expect(await sameBytes(path.join(out, rel), pairs[i]!.images[k]!)).toBe(true);
      }
    }
  });

  it('TRL JSONL: conversational prompt with image slots in order, one row per line', async () => {
    const out = path.join(dir, 'trl');
    await exportPairs(pairs, 'trl', out);
    const lines = (await readFile(path.join(out, 'train.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(2);
    const row = JSON.parse(lines[0]!) as { prompt: { role: string; content: { type: string; text?: string }[] }[]; chosen: unknown; rejected: unknown; images: string[] };
    expect(row.prompt[0]!.role).toBe('user');
    expect(row.prompt[0]!.content).toEqual([{ type: 'text', text: 'Image1:' }, { type: 'image' }, { type: 'text', text: '\nImage2:' }, { type: 'image' }, { type: 'text', text: '\nIn Image2, what is it?' }]);
    expect(row.chosen).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] }]);
    expect(row.rejected).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'A dog.' }] }]);
    expect(row.images).toHaveLength(2);
    expect(await sameBytes(path.join(out, row.images[1]!), pairs[0]!.images[1]!)).toBe(true);
    const config = (await json(path.join(out, 'dpo_config.json'))) as { data_files: string; dpo_config: Record<string, unknown>; lora_config: Record<string, unknown> };
    expect(config.data_files).toBe('train.jsonl');
    expect(config.dpo_config).toMatchObject({ beta: 0.1, loss_type: 'sigmoid', learning_rate: 5e-5, warmup_ratio: 0.1, max_length: 4096 });
    expect(config.lora_config).toMatchObject({ r: 128, lora_alpha: 256, lora_dropout: 0.05 });
  });

  it('LLaMA-Factory ShareGPT ranking with a dataset_info.json entry', async () => {
    const out = path.join(dir, 'lf');
    await exportPairs(pairs, 'llamafactory', out);
    const info = (await json(path.join(out, 'dataset_info.json'))) as Record<string, { file_name: string; formatting: string; ranking: boolean; columns: Record<string, string> }>;
    const entry = info.mia_dpo!;
    expect(entry).toMatchObject({ formatting: 'sharegpt', ranking: true, columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', images: 'images' } });
    const rows = (await json(path.join(out, entry.file_name))) as { conversations: { from: string; value: string }[]; chosen: { from: string; value: string }; rejected: { value: string }; images: string[] }[];
    expect(rows[1]).toMatchObject({ conversations: [{ from: 'human', value: pairs[1]!.prompt }], chosen: { from: 'gpt', value: 'Red.' }, rejected: { value: 'Blue "dark".' } });
    expect(rows[1]!.images[0]).toMatch(/^images\/[0-9a-f]{32}\.png$/);
    const yaml = await readFile(path.join(out, 'train_mia_dpo.yaml'), 'utf8');
    for (const line of ['stage: dpo', 'dataset: mia_dpo', 'lora_rank: 128', 'lora_alpha: 256', 'pref_beta: 0.1', 'pref_loss: sigmoid', 'learning_rate: 0.00005', 'freeze_vision_tower: true']) {
      expect(yaml.split('\n')).toContain(line);
    }
  });

  it('refuses a prompt whose placeholders do not match its images, and names a missing image', async () => {
    await expect(exportPairs([{ ...pairs[0]!, images: [pairs[0]!.images[0]!] }], 'mia', path.join(dir, 'bad'))).rejects.toThrow(/pair p1: prompt has 2 <image>/);
    await expect(exportPairs([{ ...pairs[1]!, images: [path.join(dir, 'gone.png')] }], 'mia', path.join(dir, 'bad2'))).rejects.toThrow(/gone\.png is missing/);
  });
});
