// Public API of image preprocessing: config parsing, decode, the CLIP/SigLIP
// pipeline with LLaVA's pad mode, IXC2.5's HD transform and token layout, and the
// on-disk vision feature cache.

export {
  parsePreprocessorConfig,
  loadPreprocessorConfig,
  PREPROCESSOR_CONFIG_FILE,
  RESAMPLE_FILTERS,
} from './preprocessor-config';
export type { PreprocessorConfig, ResampleFilter, ResizeTarget } from './preprocessor-config';
export { decodeImage } from './decode-image';
export type { DecodeOptions, ImageInput, RgbImage } from './decode-image';
export { preprocessImage, preprocessRgb, preprocessingId } from './preprocess';
export type { AspectMode, PixelTensor, PreprocessOptions, Resampler } from './preprocess';
export { centerCrop, padToSquare, meanColour, resizeOutputSize, transposeRgb } from './geometry';
export {
  HD_CROP_SIZE,
  HD_NUM_MULTI,
  HD_NUM_SINGLE,
  hdCanvasRect,
  hdGeometry,
  hdNumFor,
  hdTransformImage,
  hdTransformRgb,
} from './hd-transform';
export type { HdGeometry, HdOptions, HdPixels, HdVariant } from './hd-transform';
export {
  HD_MERGED_SIDE,
  hdMergeLayout,
  hdMergeLayoutBatch,
  hdSpanMeans,
  hdTokenCount,
  hdTokenLayout,
} from './hd-layout';
export type { HdFeatureShape, HdGrid, HdTokenLayout, TokenRun } from './hd-layout';
export { resamplePil } from './resample-pil';
export { resampleSharp } from './resample-sharp';
export { FeatureCache, imageContentHash } from './feature-cache';
export type { FeatureCacheOptions, FeatureKey, Features } from './feature-cache';
