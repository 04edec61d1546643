// Where a prompt's images go when its text does not say: one placeholder line
// per image before the question, as LLaVA's chat template puts them. The one
// mapping used by generation, the augmented prompts and the demo dataset.

/** The image placeholder of llava-hf prompts (a tokenizer may name its own image token). */
export const IMAGE_PLACEHOLDER = '<image>';

/**
 * `text` with `images` placeholder lines in front, unless it already places
 * its images (MIA-DPO's `Image1:<image>` prompts do).
 */
export function withImagePlaceholders(text: string, images: number, placeholder: string = IMAGE_PLACEHOLDER): string {
  return text.includes(placeholder) ? text : `${placeholder}\n`.repeat(images) + text;
}
