// preprocessor_config.json parsing: llava-1.5 and SigLIP files, processor
// defaults for absent fields, and errors that name the file and field.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPreprocessorConfig, parsePreprocessorConfig } from '../../../../electron/engine/vision';
import { tempDir } from './draw-images';

/** llava-hf/llava-1.5-7b-hf's preprocessor_config.json. */
const LLAVA_15 = {
  crop_size: { height: 336, width: 336 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  processor_class: 'LlavaProcessor',
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { shortest_edge: 336 },
};

describe('parsePreprocessorConfig', () => {
  it('reads llava-1.5-hf', () => {
    expect(parsePreprocessorConfig(LLAVA_15, 'p.json')).toEqual({
      doResize: true,
      size: { shortestEdge: 336 },
      resample: 'bicubic',
      doCenterCrop: true,
      cropSize: { height: 336, width: 336 },
      doRescale: true,
      rescaleFactor: 0.00392156862745098,
      doNormalize: true,
      imageMean: [0.48145466, 0.4578275, 0.40821073],
      imageStd: [0.26862954, 0.26130258, 0.27577711],
      doConvertRgb: true,
    });
  });

  it("fills SigLIP's defaults: fixed height x width, no crop, mean and std 0.5", () => {
    const c = parsePreprocessorConfig(
      { image_processor_type: 'SiglipImageProcessor', size: { height: 384, width: 384 }, resample: 2 },
      'p.json',
    );
    expect(c.size).toEqual({ height: 384, width: 384 });
    expect(c.resample).toBe('bilinear');
    expect(c.doCenterCrop).toBe(false);
    expect(c.imageMean).toEqual([0.5, 0.5, 0.5]);
    expect(c.imageStd).toEqual([0.5, 0.5, 0.5]);
  });

  it('reads integer size and crop_size the way transformers does, and scalar mean/std', () => {
    const c = parsePreprocessorConfig({ size: 224, crop_size: 224, image_mean: 0.5, image_std: 0.25 }, 'p.json');
    expect(c.size).toEqual({ shortestEdge: 224 });
    expect(c.cropSize).toEqual({ height: 224, width: 224 });
    expect(c.imageMean).toEqual([0.5, 0.5, 0.5]);
    expect(c.imageStd).toEqual([0.25, 0.25, 0.25]);
  });

  it.each([
    [{ size: { longest_edge: 3 } }, 'field size must be an integer or {shortest_edge} or {height, width}'],
    [{ resample: 9 }, 'field resample must be an integer 0-5'],
    [{ image_mean: [0.5, 0.5] }, 'field image_mean must be a number or a list of 3 numbers, got [0.5,0.5]'],
    [{ image_std: [1, 0, 1] }, 'field image_std must be a positive number'],
    [{ do_resize: 'yes' }, 'field do_resize must be true or false, got "yes"'],
    [{ crop_size: { height: -1, width: 3 } }, 'field crop_size must be'],
    [{ rescale_factor: 0 }, 'field rescale_factor must be a positive number'],
  ])('names the field of a bad value: %j', (json, message) => {
    expect(() => parsePreprocessorConfig(json, 'dir/preprocessor_config.json')).toThrow(
      `dir/preprocessor_config.json: ${message}`,
    );
  });

  it('refuses processors it cannot reproduce', () => {
    expect(() => parsePreprocessorConfig({ image_processor_type: 'LlavaNextImageProcessor' }, 'p.json')).toThrow(
      /image_processor_type = "LlavaNextImageProcessor" is not supported; supported: CLIPImageProcessor/,
    );
  });
});

describe('loadPreprocessorConfig', () => {
  it('loads the file of a model folder', async () => {
    const dir = tempDir('ppc-');
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(LLAVA_15));
    expect((await loadPreprocessorConfig(dir)).cropSize).toEqual({ height: 336, width: 336 });
  });

  it('names a missing or broken file', async () => {
    const dir = tempDir('ppc-');
    await expect(loadPreprocessorConfig(dir)).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining('preprocessor_config.json'),
    });
    writeFileSync(join(dir, 'preprocessor_config.json'), '[1, 2]');
    await expect(loadPreprocessorConfig(dir)).rejects.toThrow(/preprocessor_config.json is not a JSON object/);
  });
});
