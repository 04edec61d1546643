// One canonical naming for llava-hf tensors, whichever layout the files use:
// the older one (`language_model.model.layers.N...`, `language_model.lm_head`,
// `vision_tower.vision_model...`, `multi_modal_projector...`), which is also
// the canonical form, and the newer one (transformers >= 4.52:
// `model.language_model.layers.N...`, `model.vision_tower...`,
// `model.multi_modal_projector...`, `lm_head`). PEFT keys use the same names.
import { AppError } from '../../../shared/errors';

export type WeightLayout = 'legacy' | 'nested';

const LEGACY_ROOTS = ['language_model.model.', 'language_model.lm_head.', 'vision_tower.', 'multi_modal_projector.'];
const NESTED_ROOTS = ['model.language_model.', 'model.vision_tower.', 'model.multi_modal_projector.', 'lm_head.'];

/** The layout a stored name belongs to, or null when it is in neither (e.g. a stray buffer). */
export function layoutOfName(name: string): WeightLayout | null {
  if (LEGACY_ROOTS.some((r) => name.startsWith(r))) return 'legacy';
  if (NESTED_ROOTS.some((r) => name.startsWith(r))) return 'nested';
  return null;
}

/** The canonical (older-layout) name of a stored name, or null when it is in neither layout. */
export function canonicalName(name: string): string | null {
  const layout = layoutOfName(name);
  if (layout === 'legacy') return name;
  if (layout === null) return null;
  if (name.startsWith('lm_head.')) return `language_model.${name}`;
  if (name.startsWith('model.language_model.'))
    return `language_model.model.${name.slice('model.language_model.'.length)}`;
  return name.slice('model.'.length);
}

/** The name `canonical` is stored under in `layout`. */
export function storedName(canonical: string, layout: WeightLayout): string {
  if (layoutOfName(canonical) !== 'legacy')
    throw new AppError('internal', `"${canonical}" is not a canonical tensor name`);
  if (layout === 'legacy') return canonical;
  if (canonical.startsWith('language_model.lm_head.')) return canonical.slice('language_model.'.length);
  if (canonical.startsWith('language_model.model.'))
    return `model.language_model.${canonical.slice('language_model.model.'.length)}`;
  return `model.${canonical}`;
}

/**
 * The single layout of a checkpoint's tensor names. Names in neither layout
 * are ignored; a mix of both is refused, since it would map two tensors onto
 * one canonical name.
 */
export function detectLayout(names: readonly string[], where: string): WeightLayout {
  const legacy = names.find((n) => layoutOfName(n) === 'legacy');
  const nested = names.find((n) => layoutOfName(n) === 'nested');
  if (legacy !== undefined && nested !== undefined) {
    throw new AppError(
      'bad-file',
      `${where}: tensor names mix the older llava-hf layout ("${legacy}") and the newer one ("${nested}")`,
      { subject: where },
    );
  }
  if (legacy === undefined && nested === undefined) {
    throw new AppError(
      'bad-file',
      `${where}: no tensor has a llava-hf name (language_model.*, vision_tower.*, multi_modal_projector.*, or the same under model.*)`,
      { subject: where },
    );
  }
  return legacy !== undefined ? 'legacy' : 'nested';
}
