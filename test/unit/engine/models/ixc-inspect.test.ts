// `model inspect` on InternLM-XComposer-2.5 folders: the one describe path
// gives family, decoder sizes, vision tower, hd_num, PLoRA rank, dtype,
// parameter count (mode adapters not counted) and tokenizer kind in the
// shared ModelInspection type; a damaged folder is explained; a llava-hf folder
// is described as before.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelInspection } from '../../../../shared/api/model';
import { runCli } from '../../../../electron/cli/run';
import { inspectModel } from '../../../../electron/engine/models/inspect';
import { isIxcModeAdapter } from '../../../../electron/engine/models/checkpoint-ixc-shapes';
import { writeRandomIxc } from '../../../../electron/engine/models/random-ixc-checkpoint';
import { writeTinyLlava } from '../../../helpers/tiny-llava';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function cli(argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c: Buffer, _e, cb) => (f(c.toString()), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (out += s)), stderr: sink(() => undefined), tty: false });
  return { code, out };
}

describe('model inspect on IXC2.5 folders', () => {
  it('describes a sharded bf16 folder with mode adapters and a SentencePiece tokenizer', async () => {
    const t = await writeRandomIxc({ dtype: 'BF16', shardBytes: 20_000, modeAdapters: true });
    dirs.push(t.dir);
    // Only the file's presence is inspected; reading it is the tokenizer's job.
    writeFileSync(path.join(t.dir, 'tokenizer.model'), new Uint8Array([0x0a, 0x00]));
    const info = await inspectModel(t.dir);
    expect(ModelInspection.parse(info)).toEqual(info);
    const params = [...t.tensors].filter(([n]) => !isIxcModeAdapter(n)).reduce((a, [, x]) => a + x.values.length, 0);
    expect(info).toEqual({
      dir: t.dir,
      supported: true,
      family: 'ixc',
      architecture: { text: 'internlm2', vision: 'clip_vision_model' },
      layout: 'ixc',
      dtype: 'BF16',
      parameters: params,
      text: { hidden_size: 32, layers: 2, heads: 4, kv_heads: 2, vocab: 1024, context: 64 },
      vision: {
        hidden_size: 16,
        layers: 2,
        image_size: 56,
        patch_size: 14,
        feature_layers: [2],
        select_strategy: 'default',
      },
      // 56 px crops of 14 px patches merged 2x2: 2x2 tokens per crop; one crop + global = (1+1)*4 + 1 + 2*2.
      image_tokens_per_image: 13,
      default_attention_layer: 1,
      chat_template: false,
      preprocessor_config: false,
      tokenizer: 'tokenizer.model',
      can_generate: true,
      ixc: {
        crop_size: 56,
        merge: 2,
        hd_num: 24,
        hd_num_multi: 6,
        plora_rank: 8,
        mode_adapters: ['lora_sft', 'lora_dpo', 'lora_web'],
        rope_scaling: 'dynamic x2',
        // A 24 x 1 strip: 25*4 + 1 + 25*2; at hd 6: 7*4 + 1 + 7*2.
        image_tokens: { min: 13, max: 151, max_multi: 43 },
      },
    });
  });

  it('explains a damaged folder naming the file, and reports a missing tokenizer', async () => {
    const t = await writeRandomIxc({ textLayers: 1, config: { num_hidden_layers: 2, rope_scaling: null } });
    dirs.push(t.dir);
    const info = await inspectModel(t.dir);
    expect(info).toMatchObject({ supported: false, kind: 'bad-file' });
    expect(info.supported === false && info.reason).toContain(
      `${t.dir}: the weights (model.safetensors) lack tensors its config.json needs: model.layers.1.`,
    );
    const ok = await writeRandomIxc({ ropeScaling: null });
    dirs.push(ok.dir);
    expect(await inspectModel(ok.dir)).toMatchObject({
      supported: true,
      tokenizer: 'none',
      ixc: { rope_scaling: 'none', mode_adapters: [] },
    });
  });

  it('a llava-hf folder is described as before, an unknown family refused', async () => {
    const l = await writeTinyLlava({ vocab: 128 });
    dirs.push(l.dir);
    expect(await inspectModel(l.dir)).toMatchObject({
      supported: true,
      family: 'llava',
      architecture: { text: 'llama', vision: 'clip_vision_model' },
      tokenizer: 'tokenizer.json',
    });
    writeFileSync(
      path.join(l.dir, 'config.json'),
      JSON.stringify({ architectures: ['Qwen2VLForConditionalGeneration'] }),
    );
    expect(await inspectModel(l.dir)).toMatchObject({
      supported: false,
      kind: 'unsupported',
      reason: expect.stringContaining(
        'architectures = ["Qwen2VLForConditionalGeneration"] is not supported',
      ) as unknown,
    });
  });

  it('the CLI prints the description and exits 0; generate on a folder without a tokenizer says so', async () => {
    const t = await writeRandomIxc({ seed: 3 });
    dirs.push(t.dir);
    const text = await cli(['model', 'inspect', t.dir]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('family: ixc\n');
    expect(text.out).toContain('can_generate: true\n');
    expect(text.out).toMatch(/^ixc: \{"crop_size":56,"merge":2,"hd_num":24,"hd_num_multi":6,"plora_rank":8,/m);
    const json = await cli(['model', 'inspect', t.dir, '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ supported: true, family: 'ixc', dtype: 'F32' });
    const gen = await cli(['generate', '--model', t.dir, '--prompt', 'Hi', '--ep', 'cpu', '--json']);
    expect(gen.code).toBe(1);
    // The folder has no tokenizer: generate takes the IXC path and says so.
    expect(JSON.parse(gen.out).error.message).toMatch(/tokenizer/);
  });
});
