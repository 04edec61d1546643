// The one prompt-images mapping: images listed before a question that does not
// place them, and left alone by a prompt that does.
import { describe, expect, it } from 'vitest';
import { IMAGE_PLACEHOLDER, withImagePlaceholders } from '../../../../electron/engine/text/image-placeholders';
import { rewriteConversation } from '../../../../electron/pipeline/augment/prompts';
import { llavaEntry } from '../../../../electron/io/demo-dataset';

describe('withImagePlaceholders', () => {
  it('puts one placeholder line per image before a question that has none', () => {
    expect(withImagePlaceholders('What is it?', 2)).toBe('<image>\n<image>\nWhat is it?');
    expect(withImagePlaceholders('What is it?', 0)).toBe('What is it?');
  });

  it('leaves a prompt that places its images as it is', () => {
    expect(withImagePlaceholders('Image1:<image>\nImage2:<image>\nIn Image2, what is it?', 2)).toBe(
      'Image1:<image>\nImage2:<image>\nIn Image2, what is it?',
    );
  });

  it("uses the tokenizer's own image token when given", () => {
    expect(withImagePlaceholders('Describe.', 1, '<img>')).toBe('<img>\nDescribe.');
    expect(withImagePlaceholders('<img> Describe.', 1, '<img>')).toBe('<img> Describe.');
  });

  it('is the mapping the augmented prompts and the demo dataset use', () => {
    const [grid] = rewriteConversation([{ from: 'human', value: 'What is it?\n<image>' }], {
      format: 'grid',
      imageCount: 4,
      targetIndex: 2,
    });
    expect(grid?.value).toBe(withImagePlaceholders('In Image2, what is it?', 1));
    const demo = llavaEntry(0, 'a.jpg') as { conversations: { value: string }[] };
    expect(demo.conversations[0]?.value).toBe(withImagePlaceholders('What shape is shown, and what colour is it?', 1));
    expect(demo.conversations[0]?.value.startsWith(`${IMAGE_PLACEHOLDER}\n`)).toBe(true);
  });
});
