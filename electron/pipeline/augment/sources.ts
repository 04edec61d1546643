// What the augmentation plan knows about a single-image source beyond its
// image: whether its conversation is grounding data (bounding boxes) and which
// LLaVA-665k subset its image comes from. The reference keeps both grounding
// samples and Visual Genome out of grid and pic-in-pic, and draws distractors
// from the target's own subset (decision 0105).

/**
 * The reference's `contains_bbox`: a bracketed list of four numbers, such as
 * `[0.12, 0.3, 0.5, 0.77]` or `[12, 30, 50, 77]`, anywhere in the text
 * (a comma right after each number, optional spaces after the commas and
 * inside the brackets; no sign, no exponent).
 */
const BBOX = /\[\s*\d+(\.\d+)?,\s*\d+(\.\d+)?,\s*\d+(\.\d+)?,\s*\d+(\.\d+)?\s*\]/;

/** True when any turn (question or answer) holds a bounding box: grounding data. */
export function isGrounding(conversation: readonly { value: string }[]): boolean {
  return conversation.some((turn) => BBOX.test(turn.value));
}

export const LLAVA_SUBSETS = ['coco', 'gqa', 'ocr_vqa', 'textvqa', 'vg'] as const;
export type LlavaSubset = (typeof LLAVA_SUBSETS)[number];

/**
 * LLaVA-665k lays its images out as `coco/train2017/`, `gqa/images/`,
 * `ocr_vqa/images/`, `textvqa/train_images/` and `vg/VG_100K/` or
 * `vg/VG_100K_2/`; the subset is the last such pair of folders in the image
 * path (absolute or relative, either slash). The second folder is required so
 * that an unrelated folder named `vg` or `coco` does not count.
 */
const SUBSET_DIRS = /(?:^|\/)(coco\/train2017|gqa\/images|ocr_vqa\/images|textvqa\/train_images|vg\/VG_100K(?:_2)?)\//g;

/** The LLaVA-665k subset of an image path, or null when the path is not laid out like LLaVA-665k. */
export function llavaSubset(imagePath: string): LlavaSubset | null {
  const matches = [...imagePath.replaceAll('\\', '/').matchAll(SUBSET_DIRS)];
  const last = matches.at(-1)?.[1];
  return last === undefined ? null : (last.split('/')[0] as LlavaSubset);
}
