import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExportPair } from '../../../electron/pipeline/export/export-pairs';
import { EXPORT_FILES, exportPairs, TRL_FILES, trlUserContent } from '../../../electron/pipeline/export/export-pairs';
import { TRL_SCRIPT } from '../../../electron/pipeline/export/training-config';
import { LLAVA_HF_TEMPLATE } from '../engine/text/tokenizer-fixtures';
import { makeImage, tempDir } from './fixture-images';

let dir: string;
let pairs: ExportPair[];

beforeAll(async () => {
  dir = await tempDir();
  const a = await makeImage(dir, 'a.jpg', 64, 48, 1);
  const b = await makeImage(dir, 'b.png', 48, 64, 2);
  const grid = await makeImage(dir, 'grid.png', 100, 50, 3);
  pairs = [
    {
      id: 'p1',
      images: [a, b],
      prompt: 'Image1:<image>\nImage2:<image>\nIn Image2, what is it?',
      chosen: 'A cat.',
      rejected: 'A dog.',
    },
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
    const rows = (await json(path.join(out, 'mia_dpo.json'))) as {
      id: string;
      image: string | string[];
      prompt: string;
      chosen: string;
      rejected: string;
      gt: string;
    }[];
    // The reference's fields: a list of images for a sequence, one path for a composite, and `gt`.
    expect(rows.map((r) => Object.keys(r))).toEqual(
      pairs.map(() => ['id', 'image', 'prompt', 'chosen', 'rejected', 'gt']),
    );
    expect(rows.map((r) => [r.id, r.prompt, r.chosen, r.rejected, r.gt])).toEqual(
      pairs.map((p) => [p.id, p.prompt, p.chosen, p.rejected, p.chosen]),
    );
    expect(rows[0]!.image).toHaveLength(2);
    expect(typeof rows[1]!.image).toBe('string');
    const args = (await json(path.join(out, 'train_args.json'))) as Record<string, unknown>;
    expect(args).toMatchObject({
      image_aspect_ratio: 'pad',
      data_path: 'mia_dpo.json',
      lora_r: 128,
      lora_alpha: 256,
      beta: 0.1,
      learning_rate: 5e-5,
    });
    for (const [i, r] of rows.entries()) {
      for (const [k, rel] of [r.image].flat().entries()) {
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
    const row = JSON.parse(lines[0]!) as {
      prompt: { role: string; content: { type: string; text?: string }[] }[];
      chosen: unknown;
      rejected: unknown;
      images: string[];
    };
    expect(row.prompt[0]!.role).toBe('user');
    // Several images: one text part with the placeholders inline, so each stays beside its label.
    expect(row.prompt[0]!.content).toEqual([
      { type: 'text', text: 'Image1:<image>\nImage2:<image>\nIn Image2, what is it?' },
    ]);
    expect(row.chosen).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'A cat.' }] }]);
    expect(row.rejected).toEqual([{ role: 'assistant', content: [{ type: 'text', text: 'A dog.' }] }]);
    expect(row.images).toHaveLength(2);
    expect(await sameBytes(path.join(out, row.images[1]!), pairs[0]!.images[1]!)).toBe(true);
    // One image: an image part, then the question without a leading newline.
    const row2 = JSON.parse(lines[1]!) as typeof row;
    expect(row2.prompt[0]!.content).toEqual([{ type: 'image' }, { type: 'text', text: 'In Image1, what colour?' }]);
  });

  it("TRL rows keep every image beside its ImageN: label under llava-hf's chat template (images first, then text)", async () => {
    const template = new Template(LLAVA_HF_TEMPLATE);
    const render = (content: unknown) =>
      template.render({ messages: [{ role: 'user', content }], add_generation_prompt: true });
    const labelled = (text: string) => [...text.matchAll(/Image(\d+):(.{0,7})/g)].every((m) => m[2] === '<image>');
    const sequence = render(trlUserContent(pairs[0]!.prompt));
    expect(sequence).toBe('USER: Image1:<image>\nImage2:<image>\nIn Image2, what is it? ASSISTANT:');
    expect(labelled(sequence)).toBe(true);
    expect(render(trlUserContent(pairs[1]!.prompt))).toBe('USER: <image>\nIn Image1, what colour? ASSISTANT:');
    // The interleaved parts the export wrote before: the template moves both images ahead of their labels.
    const interleaved = [
      { type: 'text', text: 'Image1:' },
      { type: 'image' },
      { type: 'text', text: 'Image2:' },
      { type: 'image' },
      { type: 'text', text: 'In Image2, what is it?' },
    ];
    expect(labelled(render(interleaved))).toBe(false);
  });

  it('TRL config: DPOConfig and LoraConfig keyword arguments, no prompt truncation, and a script that compiles', async () => {
    const out = path.join(dir, 'trl-config');
    await exportPairs(pairs, 'trl', out);
    const dpo = (await json(path.join(out, TRL_FILES.dpoConfig))) as Record<string, unknown>;
    // Fields of TRL's DPOConfig (its own and those it inherits from transformers' TrainingArguments).
    const DPO_CONFIG_FIELDS = new Set([
      ...[
        'beta',
        'loss_type',
        'max_length',
        'max_prompt_length',
        'max_completion_length',
        'label_smoothing',
        'truncation_mode',
        'precompute_ref_log_probs',
      ],
      ...[
        'output_dir',
        'learning_rate',
        'lr_scheduler_type',
        'warmup_ratio',
        'weight_decay',
        'per_device_train_batch_size',
        'gradient_accumulation_steps',
      ],
      ...['num_train_epochs', 'bf16', 'gradient_checkpointing', 'logging_steps', 'save_steps'],
    ]);
    for (const key of Object.keys(dpo)) expect(DPO_CONFIG_FIELDS.has(key), key).toBe(true);
    expect(dpo).toMatchObject({
      beta: 0.1,
      loss_type: 'sigmoid',
      learning_rate: 5e-5,
      warmup_ratio: 0.1,
      max_length: 4096,
      max_prompt_length: null,
      output_dir: 'mia-dpo-lora',
    });
    const lora = (await json(path.join(out, TRL_FILES.loraConfig))) as {
      r: number;
      lora_alpha: number;
      lora_dropout: number;
      target_modules: string;
      task_type: string;
    };
    expect(lora).toMatchObject({ r: 128, lora_alpha: 256, lora_dropout: 0.05, task_type: 'CAUSAL_LM' });
    // PEFT full-matches the pattern: the language model's seven linear layers, in either weight layout, never the vision tower.
    const targets = new RegExp(`^(?:${lora.target_modules})$`);
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']) {
      expect(
        targets.test(
          `model.language_model.layers.3.${m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn'}.${m}`,
        ),
      ).toBe(true);
    }
    expect(targets.test('language_model.model.layers.0.self_attn.q_proj')).toBe(true);
    expect(targets.test('vision_tower.vision_model.encoder.layers.0.self_attn.q_proj')).toBe(false);
    expect(targets.test('lm_head')).toBe(false);
    const script = await readFile(path.join(out, TRL_FILES.script), 'utf8');
    expect(script).toBe(TRL_SCRIPT);
    for (const name of [EXPORT_FILES.trl, TRL_FILES.dpoConfig, TRL_FILES.loraConfig])
      expect(script).toContain(`"${name}"`);
    expect(script).toContain('cast_column("images", Sequence(Image()))');
    execFileSync('python3', ['-m', 'py_compile', path.join(out, TRL_FILES.script)]);
  });

  it('LLaMA-Factory ShareGPT ranking with a dataset_info.json entry', async () => {
    const out = path.join(dir, 'lf');
    await exportPairs(pairs, 'llamafactory', out);
    const info = (await json(path.join(out, 'dataset_info.json'))) as Record<
      string,
      { file_name: string; formatting: string; ranking: boolean; columns: Record<string, string> }
    >;
    const entry = info.mia_dpo!;
    expect(entry).toMatchObject({
      formatting: 'sharegpt',
      ranking: true,
      columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', images: 'images' },
    });
    const rows = (await json(path.join(out, entry.file_name))) as {
      conversations: { from: string; value: string }[];
      chosen: { from: string; value: string };
      rejected: { value: string };
      images: string[];
    }[];
    expect(rows[1]).toMatchObject({
      conversations: [{ from: 'human', value: pairs[1]!.prompt }],
      chosen: { from: 'gpt', value: 'Red.' },
      rejected: { value: 'Blue "dark".' },
    });
    expect(rows[1]!.images[0]).toMatch(/^images\/[0-9a-f]{32}\.png$/);
    const yaml = await readFile(path.join(out, 'train_mia_dpo.yaml'), 'utf8');
    expect(yaml).toMatch(/^# Image preprocessing of the reference: pad: /m);
    for (const line of [
      'stage: dpo',
      'dataset: mia_dpo',
      'lora_rank: 128',
      'lora_alpha: 256',
      'pref_beta: 0.1',
      'pref_loss: sigmoid',
      'learning_rate: 0.00005',
      'freeze_vision_tower: true',
    ]) {
      expect(yaml.split('\n')).toContain(line);
    }
  });

  it('refuses a prompt whose placeholders do not match its images, and names a missing image', async () => {
    await expect(
      exportPairs([{ ...pairs[0]!, images: [pairs[0]!.images[0]!] }], 'mia', path.join(dir, 'bad')),
    ).rejects.toThrow(/pair p1: prompt has 2 <image>/);
    await expect(
      exportPairs([{ ...pairs[1]!, images: [path.join(dir, 'gone.png')] }], 'mia', path.join(dir, 'bad2')),
    ).rejects.toThrow(/gone\.png is missing/);
  });
});
