import { describe, expect, it } from 'vitest';
import { isGrounding, llavaSubset } from '../../../electron/pipeline/augment/sources';

const turns = (...values: string[]) => values.map((value, i) => ({ from: i % 2 === 0 ? 'human' : 'gpt', value }));

describe('grounding detection (the reference contains_bbox)', () => {
  it('finds a bracketed list of four numbers in a question or an answer', () => {
    expect(isGrounding(turns('<image>\nWhat is in [0.12, 0.3, 0.5, 0.77]?', 'A dog.'))).toBe(true);
    expect(isGrounding(turns('<image>\nWhere is the dog?', '[0.12,0.3,0.5,0.77]'))).toBe(true);
    expect(isGrounding(turns('Box?', 'It is at [ 12, 30, 50, 77 ].'))).toBe(true);
  });

  it('ignores other brackets and number lists', () => {
    expect(isGrounding(turns('<image>\nWhat is it?', 'A dog.'))).toBe(false);
    expect(isGrounding(turns('Pick one of [1, 2, 3].', '[2]'))).toBe(false);
    expect(isGrounding(turns('Five: [0.1, 0.2, 0.3, 0.4, 0.5]', 'ok'))).toBe(false);
    expect(isGrounding(turns('Negative [-0.1, 0.2, 0.3, 0.4]', 'ok'))).toBe(false);
    expect(isGrounding(turns('Space before comma [0.1 , 0.2, 0.3, 0.4]', 'ok'))).toBe(false);
  });
});

describe('LLaVA-665k subset of an image path', () => {
  it('reads the subset from the LLaVA-665k folder layout, absolute or relative, either slash', () => {
    expect(llavaSubset('vg/VG_100K/2345.jpg')).toBe('vg');
    expect(llavaSubset('/data/llava/vg/VG_100K_2/1.jpg')).toBe('vg');
    expect(llavaSubset('/data/llava/coco/train2017/000000033471.jpg')).toBe('coco');
    expect(llavaSubset('C:\\data\\gqa\\images\\2354786.jpg')).toBe('gqa');
    expect(llavaSubset('/d/ocr_vqa/images/140031996.jpg')).toBe('ocr_vqa');
    expect(llavaSubset('/d/textvqa/train_images/0a0bc91825468c45.jpg')).toBe('textvqa');
  });

  it('is null for other layouts, including a bare folder named like a subset', () => {
    expect(llavaSubset('/home/vg/photos/cat.jpg')).toBeNull();
    expect(llavaSubset('/data/images/cat.jpg')).toBeNull();
    expect(llavaSubset('/data/coco/val2017/1.jpg')).toBeNull();
  });
});
