// @vitest-environment happy-dom
// The review focus view and its keys as a component: images with the target
// marked and a heatmap per image, the word diff of chosen and rejected, the
// ratio against its threshold, the reasons; the key table the page and the
// shortcut sheet share.
import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiClient } from '../../../shared/api';
import { ApiContext } from '../../../renderer/src/api-context';
import { PairFocus, ratioSentence, type PairDetail } from '../../../renderer/src/components/pairs/PairFocus';
import { heatmapPixels } from '../../../renderer/src/components/pairs/AttentionImage';
import { reviewCommand } from '../../../renderer/src/components/pairs/keys';
import { viridis } from '../../../renderer/src/lib/colormap';
import { wordDiff } from '../../../renderer/src/lib/word-diff';
import { errorSentence } from '../../../renderer/src/lib/error-sentence';
import { AppError } from '../../../shared/errors';

const client = {
  imageUrl: (id: number) => `/img/${id}`,
  compositeUrl: (id: number) => `/composite/${id}`,
  seenUrl: (g: number, i: number) => `/seen/${g}/${i}`,
} as unknown as ApiClient;

function detail(over: Partial<PairDetail['pair']> = {}): PairDetail {
  return {
    pair: {
      id: 7,
      generation_id: 70,
      augmented_id: 700,
      format: 'sequence',
      image_count: 3,
      target_index: 2,
      attention_ratio: 0.25,
      exact_ratio: 0.3,
      per_image_mean: [0.1, 0.05, 0.2],
      ppl_maxprob: 1.8,
      ppl_true: 2.4,
      length_ratio: 1.1,
      edit_distance: 12,
      edit_distance_tokens: 4,
      decision: 'keep',
      reasons: ['attention ratio 0.25 < 0.7 (sequence, 3 images)'],
      failed: [],
      review: 'pending',
      prompt: 'Image1:<image>\nImage2:<image>\nImage3:<image>\nIn Image2, what colour is the dog?',
      images: [
        { kind: 'image', id: 1 },
        { kind: 'image', id: 2 },
        { kind: 'image', id: 3 },
      ],
      chosen: 'A brown dog on grass.',
      rejected: 'A black dog on sand.',
      preprocess: 'pad',
      ...over,
    },
    history: [{ action: 'create', at: 0, chosen: 'A brown dog on grass.', rejected: 'A black dog on sand.' }],
    attention: {
      side: 2,
      per_image_mean: [0.1, 0.05, 0.2],
      maps: [
        [0, 0.1, 0.2, 0.4],
        [0, 0, 0, 0.05],
        [0.3, 0.1, 0, 0],
      ],
    },
    seen: [],
  };
}

const renderFocus = (d: PairDetail, threshold = { op: '<' as const, value: 0.7 }) =>
  render(
    <ApiContext.Provider value={client}>
      <PairFocus detail={d} threshold={threshold} position="1 of 9" />
    </ApiContext.Provider>,
  );

afterEach(cleanup);

describe('review focus view', () => {
  it('shows each sequence image with its heatmap, the target marked, and the evidence', () => {
    renderFocus(detail());
    const article = screen.getByRole('article', { name: 'Pair 7' });
    const images = within(article).getAllByRole('img');
    expect(images.map((i) => i.getAttribute('src'))).toEqual(['/img/1', '/img/2', '/img/3']);
    expect(within(article).getAllByTestId('heatmap')).toHaveLength(3);
    const target = images[1]!.closest('figure')!;
    expect(target.className).toContain('attn-target');
    expect(within(target).getByText('target')).toBeTruthy();
    expect(screen.getByTestId('ratio-sentence').textContent).toBe(
      'Attention ratio 0.250 < threshold 0.700: the model looked away from the target image (kept by attention).',
    );
    expect(screen.getByText('attention ratio 0.25 < 0.7 (sequence, 3 images)')).toBeTruthy();
    // The legend names the colour scale and the pair's largest value.
    expect(screen.getByLabelText(/^Attention scale, viridis: dark purple 0, yellow 0.400/)).toBeTruthy();
  });

  it("lays an IXC2.5 generation's images as the global view: at the top-left over their share of the map", () => {
    const d = detail();
    d.attention.coverage = [
      { x: 1, y: 0.6 },
      { x: 0.5, y: 1 },
      { x: 1, y: 1 },
    ];
    renderFocus(d);
    const images = within(screen.getByRole('article', { name: 'Pair 7' })).getAllByRole('img');
    expect(images.map((i) => [i.style.width, i.style.height])).toEqual([
      ['100%', '60%'],
      ['50%', '100%'],
      ['100%', '100%'],
    ]);
    images.forEach((i) => expect(i.parentElement!.className).toContain('attn-stack-hd'));
    cleanup();
    // LLaVA generations record none: the page's fit applies.
    renderFocus(detail());
    const plain = within(screen.getByRole('article', { name: 'Pair 7' })).getAllByRole('img');
    plain.forEach((i) => {
      expect(i.style.width).toBe('');
      expect(i.parentElement!.className).not.toContain('attn-stack-hd');
    });
  });

  it('marks the changed words of chosen and rejected', () => {
    renderFocus(detail());
    const chosen = screen.getByRole('region', { name: 'Chosen answer' });
    const rejected = screen.getByRole('region', { name: 'Rejected answer' });
    expect([...chosen.querySelectorAll('ins')].map((e) => e.textContent!.trim())).toEqual(['brown', 'grass.']);
    expect([...rejected.querySelectorAll('del')].map((e) => e.textContent!.trim())).toEqual(['black', 'sand.']);
    expect(chosen.querySelector('p')!.textContent).toBe('A brown dog on grass.');
  });

  it('shows a composite as one image, and says when the ratio fails its threshold', () => {
    renderFocus(detail({ format: 'grid', images: [{ kind: 'composite', id: 700 }], attention_ratio: 0.9 }));
    expect(screen.getAllByRole('img').map((i) => i.getAttribute('src'))).toEqual(['/composite/700']);
    expect(screen.getByText('Target: Image2 of 3')).toBeTruthy();
    expect(ratioSentence(0.9, { op: '<', value: 0.7 })).toBe(
      'Attention ratio 0.900 ≥ threshold 0.700: the model looked at the target image.',
    );
    expect(ratioSentence(null, null)).toBe('No attention ratio was recorded.');
  });
});

describe('heatmap colours, diff and keys', () => {
  it('colours a map with viridis scaled by the pair maximum', () => {
    const px = heatmapPixels([0, 0.5, 1, 2], 2, 1);
    // matplotlib's viridis: 0 -> #440154, 0.5 -> #21918c, 1 -> #fde725.
    expect([...px.slice(0, 4)]).toEqual([68, 1, 84, 255]);
    expect([...px.slice(8, 12)]).toEqual([253, 231, 37, 255]);
    expect([...px.slice(12, 16)]).toEqual([...px.slice(8, 12)]);
    expect(viridis(0.5)).toEqual([33, 145, 140]);
  });

  it('diffs words, keeping the text whole on each side', () => {
    const parts = wordDiff('the cat  sat', 'the dog sat down');
    expect(parts).toEqual([
      { op: 'same', text: 'the ', old: 'the ' },
      { op: 'del', text: 'cat  ' },
      { op: 'add', text: 'dog ' },
      { op: 'same', text: 'sat ', old: 'sat' },
      { op: 'add', text: 'down' },
    ]);
    const side = (keep: 'del' | 'add') =>
      parts
        .filter((p) => p.op === 'same' || p.op === keep)
        .map((p) => (p.op === 'same' && keep === 'del' ? p.old : p.text))
        .join('');
    expect(side('del')).toBe('the cat  sat');
    expect(side('add')).toBe('the dog sat down');
  });

  it('maps keys to review commands', () => {
    const k = (key: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey', boolean>> = {}) =>
      reviewCommand({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });
    expect([k('a'), k('R'), k('e'), k('s'), k('j'), k('ArrowUp'), k('?')]).toEqual([
      'accept',
      'reject',
      'edit',
      'swap',
      'next',
      'previous',
      'help',
    ]);
    expect(k('z', { ctrlKey: true })).toBe('undo');
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(k('z', { metaKey: true, shiftKey: true })).toBe('redo');
    expect(k('a', { ctrlKey: true })).toBeNull();
    expect(k('x')).toBeNull();
  });

  it('words errors as sentences without the error kind', () => {
    expect(
      errorSentence(new AppError('not-found', 'there is no pair 12 in this project', { subject: 'pair 12' })),
    ).toBe('Not found: there is no pair 12 in this project.');
    expect(errorSentence(new AppError('bad-input', 'selection settings: invalid setting x: too big'))).toBe(
      'Please check the values: selection settings: invalid setting x: too big.',
    );
  });
});
