// Reads `preprocessor_config.json` (CLIPImageProcessor and SiglipImageProcessor
// fields) into the settings the preprocessing pipeline runs, with the processors'
// own defaults for absent fields and errors that name the field.

import { join } from 'node:path';
import { AppError } from '../../../shared/errors';
import { isJsonObject, readJsonFile } from '../text/json-file';

/** PIL's resampling filters, by the integer `resample` code of the config. */
export const RESAMPLE_FILTERS = ['nearest', 'lanczos', 'bilinear', 'bicubic', 'box', 'hamming'] as const;
export type ResampleFilter = (typeof RESAMPLE_FILTERS)[number];

export type ResizeTarget = { shortestEdge: number } | { height: number; width: number };

export interface PreprocessorConfig {
  doResize: boolean;
  size: ResizeTarget;
  resample: ResampleFilter;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  doConvertRgb: boolean;
}

export const PREPROCESSOR_CONFIG_FILE = 'preprocessor_config.json';

/** OpenAI CLIP's normalisation (also IXC2.5's `vis_processor`). */
export const OPENAI_CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** Defaults of transformers' processors, used where the file leaves a field out. */
const DEFAULTS: Record<'clip' | 'siglip', PreprocessorConfig> = {
  clip: {
    doResize: true,
    size: { shortestEdge: 224 },
    resample: 'bicubic',
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: OPENAI_CLIP_MEAN,
    imageStd: OPENAI_CLIP_STD,
    doConvertRgb: true,
  },
  siglip: {
    doResize: true,
    size: { height: 224, width: 224 },
    resample: 'bicubic',
    doCenterCrop: false,
    cropSize: { height: 224, width: 224 },
    doRescale: true,
    rescaleFactor: 1 / 255,
    doNormalize: true,
    imageMean: [0.5, 0.5, 0.5],
    imageStd: [0.5, 0.5, 0.5],
    doConvertRgb: true,
  },
};

const PROCESSOR_KINDS: Record<string, 'clip' | 'siglip'> = {
  CLIPImageProcessor: 'clip',
  CLIPImageProcessorFast: 'clip',
  CLIPFeatureExtractor: 'clip',
  SiglipImageProcessor: 'siglip',
  SiglipImageProcessorFast: 'siglip',
};

export async function loadPreprocessorConfig(dir: string): Promise<PreprocessorConfig> {
  const path = join(dir, PREPROCESSOR_CONFIG_FILE);
  return parsePreprocessorConfig(await readJsonFile(path), path);
}

/** `file` names the source in error messages. */
export function parsePreprocessorConfig(json: unknown, file: string): PreprocessorConfig {
  if (!isJsonObject(json)) throw new AppError('bad-file', `${file} is not a JSON object`, { subject: file });
  const fields = new Fields(json, file);
  const type = fields.optional(
    'image_processor_type',
    (v) => (typeof v === 'string' ? v : undefined),
    'a processor class name',
  );
  const kind = type === undefined ? 'clip' : PROCESSOR_KINDS[type];
  if (kind === undefined) {
    throw new AppError(
      'unsupported',
      `${file}: image_processor_type = ${JSON.stringify(type)} is not supported; supported: ${Object.keys(PROCESSOR_KINDS).join(', ')}`,
      { subject: file },
    );
  }
  const d = DEFAULTS[kind];
  return {
    doResize: fields.bool('do_resize', d.doResize),
    size:
      fields.optional('size', sizeOf, 'an integer or {shortest_edge} or {height, width} of positive integers') ??
      d.size,
    resample: fields.optional('resample', resampleOf, `an integer 0-5 (${RESAMPLE_FILTERS.join(', ')})`) ?? d.resample,
    doCenterCrop: fields.bool('do_center_crop', d.doCenterCrop),
    cropSize: fields.optional('crop_size', cropOf, 'an integer or {height, width} of positive integers') ?? d.cropSize,
    doRescale: fields.bool('do_rescale', d.doRescale),
    rescaleFactor:
      fields.optional('rescale_factor', (v) => (typeof v === 'number' && v > 0 ? v : undefined), 'a positive number') ??
      d.rescaleFactor,
    doNormalize: fields.bool('do_normalize', d.doNormalize),
    imageMean: fields.optional('image_mean', (v) => triple(v, false), 'a number or a list of 3 numbers') ?? d.imageMean,
    imageStd:
      fields.optional('image_std', (v) => triple(v, true), 'a positive number or a list of 3 positive numbers') ??
      d.imageStd,
    doConvertRgb: fields.bool('do_convert_rgb', d.doConvertRgb),
  };
}

/** Field access that names the file, field and expected form when a value is wrong; null counts as absent. */
class Fields {
  constructor(
    private readonly json: Record<string, unknown>,
    private readonly file: string,
  ) {}

  optional<T>(name: string, read: (v: unknown) => T | undefined, expected: string): T | undefined {
    const v = this.json[name];
    if (v === undefined || v === null) return undefined;
    const out = read(v);
    if (out === undefined) {
      throw new AppError('bad-file', `${this.file}: field ${name} must be ${expected}, got ${JSON.stringify(v)}`, {
        subject: this.file,
      });
    }
    return out;
  }

  bool(name: string, fallback: boolean): boolean {
    return this.optional(name, (v) => (typeof v === 'boolean' ? v : undefined), 'true or false') ?? fallback;
  }
}

const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/** transformers reads an integer `size` of CLIP as the shortest edge. */
function sizeOf(v: unknown): ResizeTarget | undefined {
  if (positiveInt(v)) return { shortestEdge: v };
  if (!isJsonObject(v)) return undefined;
  if (positiveInt(v['shortest_edge'])) return { shortestEdge: v['shortest_edge'] };
  if (positiveInt(v['height']) && positiveInt(v['width'])) return { height: v['height'], width: v['width'] };
  return undefined;
}

function cropOf(v: unknown): { height: number; width: number } | undefined {
  if (positiveInt(v)) return { height: v, width: v };
  if (isJsonObject(v) && positiveInt(v['height']) && positiveInt(v['width']))
    return { height: v['height'], width: v['width'] };
  return undefined;
}

function resampleOf(v: unknown): ResampleFilter | undefined {
  return Number.isInteger(v) ? RESAMPLE_FILTERS[v as number] : undefined;
}

function triple(v: unknown, positive: boolean): [number, number, number] | undefined {
  const list = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(list) || list.length !== 3) return undefined;
  if (!list.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) return undefined;
  return list as [number, number, number];
}
