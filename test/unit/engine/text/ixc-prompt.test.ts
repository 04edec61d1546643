// IXC2.5 prompts against the official chat() format written out by hand, and each
// text part's ids against sentencepiece itself (a model trained in the test with
// InternLM2's settings: no dummy prefix, byte fallback, the chat markers and
// <ImageHere> as user-defined pieces), encoded in one batched Python run.

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IMAGE_INDEX_MARKER,
  IXC_META_INSTRUCTION,
  TextTokenizer,
  encodeIxcPrompt,
  ixcReplyText,
  ixcStopCriteria,
  renderIxcPrompt,
  toIxcPlaceholders,
} from '../../../../electron/engine/text';
import type { IxcEncodedPrompt } from '../../../../electron/engine/text';
import { runOracle, type Oracle } from '../../../helpers/sentencepiece-oracle';

const S = '[UNUSED_TOKEN_146]';
const E = '[UNUSED_TOKEN_145]';
const BOS = 1;
const M = IMAGE_INDEX_MARKER;

/** The pipeline's three-image sequence prompt (augment/prompts.ts sequenceHeader + question). */
const SEQUENCE_QUERY = 'Image1:<image>\nImage2:<image>\nImage3:<image>\nIn Image2, what colour is the cat?';

/** Hand-written from modeling_internlm_xcomposer2.py (interleav_wrap_chat), one per case. */
const EXPECTED = {
  oneImage: `<ImageHere>${S}user\nDescribe the picture.${E}\n${S}assistant\n`,
  oneImageMeta: `<ImageHere>${S}system\n${IXC_META_INSTRUCTION}${E}\n${S}user\nDescribe the picture.${E}\n${S}assistant\n`,
  threeReadme:
    `${S}user\nImage1 <ImageHere>; Image2 <ImageHere>; Image3 <ImageHere>; In Image2, what colour is the cat?` +
    `${E}\n${S}assistant\n`,
  threeLines:
    `${S}user\nImage1: <ImageHere>\nImage2: <ImageHere>\nImage3: <ImageHere>\nIn Image2, what colour is the cat?` +
    `${E}\n${S}assistant\n`,
  history: `${S}user\nHi 🙂${E}\n${S}assistant\n你好！${E}\n${S}user\n<ImageHere> and  this?${E}\n${S}assistant\n`,
};

const parts = (text: string) => text.split('<ImageHere>');
const RAW = 'Q: <image> vs <ImageHere>. A:';
const TEXTS = [
  ...new Set([
    ...Object.values(EXPECTED).flatMap(parts),
    ...parts(RAW.replace('<image>', '<ImageHere>')),
    'Describe',
    'a',
    'b',
  ]),
];

let oracle: Oracle;
let tok: TextTokenizer;
beforeAll(async () => {
  oracle = runOracle(['internlm2'], TEXTS, []);
  const dir = join(oracle.root, 'ixc-folder');
  mkdirSync(dir);
  copyFileSync(join(oracle.models['internlm2']!.dir, 'tokenizer.model'), join(dir, 'tokenizer.model'));
  const config = { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  tok = await TextTokenizer.fromFolder(dir);
}, 60_000);
afterAll(() => rmSync(oracle.root, { recursive: true, force: true }));

/** sentencepiece's ids of one text part (no BOS). */
const py = (text: string): number[] => {
  const i = TEXTS.indexOf(text);
  if (i < 0) throw new Error(`not sent to the oracle: ${JSON.stringify(text)}`);
  return oracle.models['internlm2']!.ids[i]!;
};

/** The input ids interleav_wrap_chat builds for `text` (BOS on part 0 only, empty later parts skipped). */
function officialIds(text: string): number[] {
  const ids: number[] = [];
  parts(text).forEach((part, k, all) => {
    if (k === 0) ids.push(BOS, ...py(part));
    else if (part.length > 0) ids.push(...py(part));
    if (k < all.length - 1) ids.push(M);
  });
  return ids;
}

function textSegments(p: IxcEncodedPrompt) {
  return p.segments.flatMap((s) => (s.kind === 'text' ? [s] : []));
}

describe('encodeIxcPrompt', () => {
  it('puts a single image in front of the whole prompt, BOS then the image (chat())', () => {
    const p = encodeIxcPrompt(tok, { query: 'Describe the picture.' }, { images: 1 });
    expect(p.text).toBe(EXPECTED.oneImage);
    expect(p.inputIds).toEqual([BOS, M, ...py(parts(EXPECTED.oneImage)[1]!)]);
    expect(p.imagePositions).toEqual([1]);
    expect(p.segments.map((s) => s.kind)).toEqual(['text', 'image', 'text']);
    expect(textSegments(p)[0]).toEqual({ kind: 'text', text: '', ids: [BOS] });
  });

  it('adds the meta instruction as a system turn after the image when asked (use_meta=True)', () => {
    const p = encodeIxcPrompt(tok, { query: 'Describe the picture.', render: { meta: true } }, { images: 1 });
    expect(p.text).toBe(EXPECTED.oneImageMeta);
    expect(p.inputIds).toEqual(officialIds(EXPECTED.oneImageMeta));
    // A pipeline one-image prompt (`<image>\n` line first) places the image as chat() does.
    expect(encodeIxcPrompt(tok, { query: '<image>\nDescribe the picture.' }, { images: 1 }).text).toBe(
      EXPECTED.oneImage,
    );
  });

  it.each([
    ['readme', EXPECTED.threeReadme],
    ['lines', EXPECTED.threeLines],
  ] as const)('maps the pipeline Image{n}:<image> header to the %s form for 3 images', (style, expected) => {
    const p = encodeIxcPrompt(tok, { query: SEQUENCE_QUERY, style }, { images: 3 });
    expect(p.text).toBe(expected);
    const texts = textSegments(p);
    expect(texts.map((s) => s.text)).toEqual(parts(expected));
    // Each part's ids are sentencepiece's ids of that part; BOS on the first part only.
    expect(texts.map((s) => s.ids)).toEqual(parts(expected).map((t, k) => (k === 0 ? [BOS, ...py(t)] : py(t))));
    expect(p.inputIds).toEqual(officialIds(expected));
    expect(p.inputIds.filter((id) => id === BOS)).toHaveLength(1);
    expect(p.imagePositions.map((i) => p.inputIds[i])).toEqual([M, M, M]);
    expect(p.inputIds.filter((id) => id === M)).toHaveLength(3);
    const [a, b, c] = texts.map((s) => s.ids.length);
    expect(p.imagePositions).toEqual([a, a! + 1 + b!, a! + b! + c! + 2]);
  });

  it('gives each image its rows in the merged sequence from the feature-token counts', () => {
    const featureTokens = [841, 2061, 2861];
    const p = encodeIxcPrompt(tok, { query: SEQUENCE_QUERY }, { images: 3, featureTokens });
    const pos = p.imagePositions;
    expect(p.spans).toEqual([
      { start: pos[0], end: pos[0]! + 841 },
      { start: pos[1]! + 840, end: pos[1]! + 840 + 2061 },
      { start: pos[2]! + 840 + 2060, end: pos[2]! + 840 + 2060 + 2861 },
    ]);
    expect(p.length).toBe(p.inputIds.length - 3 + 841 + 2061 + 2861);
    expect(() =>
      encodeIxcPrompt(tok, { query: SEQUENCE_QUERY }, { images: 3, featureTokens, maxLength: 5000 }),
    ).toThrow(/tokens with its image tokens, longer than the 5000 allowed/);
  });

  it('renders earlier turns as chat(history=...) does, <image> mapped to <ImageHere>', () => {
    const render = { history: [{ user: 'Hi 🙂', assistant: '你好！' }] };
    const p = encodeIxcPrompt(tok, { query: '<image> and  this?', render }, { images: 1 });
    expect(p.text).toBe(EXPECTED.history);
    expect(p.inputIds).toEqual(officialIds(EXPECTED.history));
    expect(renderIxcPrompt('q', { meta: 'Be brief.' })).toBe(
      `${S}system\nBe brief.${E}\n${S}user\nq${E}\n${S}assistant\n`,
    );
  });

  it('uses a raw prompt verbatim, mapping only <image>', () => {
    const p = encodeIxcPrompt(tok, { raw: RAW }, { images: 2 });
    expect(p.text).toBe('Q: <ImageHere> vs <ImageHere>. A:');
    expect(p.inputIds).toEqual([BOS, ...py('Q: '), M, ...py(' vs '), M, ...py('. A:')]);
    // No chat markers are added; an image-first raw prompt is BOS, image, text.
    expect(encodeIxcPrompt(tok, { raw: '<ImageHere>Describe' }, { images: 1 }).inputIds).toEqual([
      BOS,
      M,
      ...py('Describe'),
    ]);
    // Adjacent placeholders: the empty part between them adds nothing.
    expect(encodeIxcPrompt(tok, { raw: '<image><image>Describe' }, { images: 2 }).inputIds).toEqual([
      BOS,
      M,
      M,
      ...py('Describe'),
    ]);
  });

  it('refuses a placeholder count that differs from the image count, saying how to fix it', () => {
    const call = (query: string, images: number) => () => encodeIxcPrompt(tok, { query }, { images });
    expect(call('Image1 <ImageHere>; which?', 2)).toThrow(
      /the prompt has 1 <ImageHere> placeholder but 2 images were given; put one <ImageHere> \(or <image>\)/,
    );
    expect(call('Compare them.', 3)).toThrow(/has 0 <ImageHere> placeholders but 3 images were given/);
    expect(call('<image>\nWhich one?', 2)).toThrow(/has 1 <ImageHere> placeholder but 2 images were given/);
    expect(call('<image> and <image>', 1)).toThrow(/has 2 <ImageHere> placeholders but 1 image was given/);
    expect(call('No image <ImageHere>', 0)).toThrow(expect.objectContaining({ kind: 'bad-input' }) as Error);
    // Text only: no marker, BOS first.
    expect(encodeIxcPrompt(tok, { raw: 'Describe' }, { images: 0 }).inputIds).toEqual([BOS, ...py('Describe')]);
  });

  it('marks images with the image token id when the tokenizer has one', () => {
    const withImage = { encode: tok.encode.bind(tok), source: 'x', special: { image: { token: '<image>', id: 7 } } };
    const p = encodeIxcPrompt(withImage, { raw: 'a<image>b' }, { images: 1 });
    expect(p.inputIds).toEqual([BOS, ...py('a'), 7, ...py('b')]);
  });
});

describe('IXC2.5 stops and replies', () => {
  it('stops at EOS and at the end-of-turn token', () => {
    const end = tok.tokenId(E)!;
    expect(end).toBe(oracle.models['internlm2']!.pieces.indexOf(E));
    expect([...ixcStopCriteria(tok, [2]).tokenIds].sort((a, b) => a - b)).toEqual([2, end]);
    expect(ixcReplyText(`A red cat.${E}\n`)).toBe('A red cat.');
    expect(ixcReplyText('no marker')).toBe('no marker');
  });

  it('refuses a tokenizer without the end-of-turn token', () => {
    const plain = { special: {}, source: '/m/tokenizer.json', tokenId: () => undefined };
    expect(() => ixcStopCriteria(plain, [])).toThrow(/\/m\/tokenizer\.json has no \[UNUSED_TOKEN_145\] token/);
  });

  it('leaves a query without pipeline placeholders as it is, and an explicit <ImageHere> where it is', () => {
    expect(toIxcPlaceholders('Image1 <ImageHere>; Image2 <ImageHere>; q')).toBe(
      'Image1 <ImageHere>; Image2 <ImageHere>; q',
    );
    expect(toIxcPlaceholders('<ImageHere>\nq', { images: 1 })).toBe('<ImageHere>\nq');
    expect(toIxcPlaceholders('<image>\nq', { images: 1 })).toBe('q');
    expect(toIxcPlaceholders('<image>\nq', { images: 2 })).toBe('<ImageHere>\nq');
  });
});
