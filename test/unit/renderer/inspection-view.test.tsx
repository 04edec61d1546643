// @vitest-environment happy-dom
// The model inspection line the Pipeline (respond) and Training pages show: a
// llava-hf folder as before, an InternLM-XComposer-2.5 folder with the note
// that it can be inspected but not generated with yet, a refusal as a sentence.
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelInspection } from '../../../shared/api';
import { InspectionView } from '../../../renderer/src/components/pipeline/RespondStage';

afterEach(cleanup);

const base = {
  dir: '/m',
  supported: true as const,
  layout: 'legacy',
  dtype: 'BF16',
  parameters: 7.1e9,
  text: { hidden_size: 4096, layers: 32, heads: 32, kv_heads: 8, vocab: 92544, context: 24576 },
  vision: {
    hidden_size: 1024,
    layers: 24,
    image_size: 560,
    patch_size: 14,
    feature_layers: [24],
    select_strategy: 'default',
  },
  default_attention_layer: 16,
  chat_template: false,
  preprocessor_config: false,
};

describe('InspectionView', () => {
  it('describes an IXC2.5 folder with the note that it cannot generate yet', () => {
    const ixc: ModelInspection = {
      ...base,
      family: 'ixc',
      architecture: { text: 'internlm2', vision: 'clip_vision_model' },
      image_tokens_per_image: 841,
      can_generate: false,
      note: 'InternLM-XComposer-2.5 folders can be loaded and inspected; generation is not implemented yet',
    };
    render(<InspectionView inspection={ixc} />);
    const text = screen.getByLabelText('Model inspection').textContent ?? '';
    expect(text).toContain('internlm2 language model with a clip_vision_model vision tower, 7.1 B parameters (BF16)');
    expect(text).toContain('841 tokens per image');
    expect(text).toContain('generation is not implemented yet');
  });

  it('gives an IXC2.5 folder its range of image tokens (HD crops) rather than one fixed count', () => {
    render(
      <InspectionView
        inspection={{
          ...base,
          family: 'ixc',
          architecture: { text: 'internlm2', vision: 'clip_vision_model' },
          image_tokens_per_image: 841,
          can_generate: true,
          ixc: {
            crop_size: 560,
            merge: 2,
            hd_num: 24,
            hd_num_multi: 6,
            plora_rank: 256,
            mode_adapters: [],
            rope_scaling: 'dynamic x2',
            image_tokens: { min: 841, max: 10_501, max_multi: 2_941 },
          },
        }}
      />,
    );
    const text = screen.getByLabelText('Model inspection').textContent ?? '';
    expect(text).toMatch(
      /841 to 10,?501 tokens per image \(HD crops of 560 px: up to 24 for one image, 6 each for several/,
    );
    expect(text).not.toContain('cannot generate');
  });

  it('a llava-hf folder has no such note; a refusal reads as a sentence', () => {
    render(
      <InspectionView
        inspection={{
          ...base,
          architecture: { text: 'llama', vision: 'clip_vision_model' },
          image_tokens_per_image: 576,
        }}
      />,
    );
    expect(screen.getByLabelText('Model inspection').textContent).toMatch(/No chat template\.$/);
    cleanup();
    render(
      <InspectionView inspection={{ dir: '/m', supported: false, reason: 'no config.json', kind: 'not-found' }} />,
    );
    expect(screen.getByRole('alert').textContent).toBe('This folder cannot be used: no config.json');
  });
});
