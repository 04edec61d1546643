// IxcSession on a tiny random IXC2.5 folder with a SentencePiece tokenizer
// trained in the test with InternLM2's settings: generation from a two-image
// prompt (embedded rows of unequal lengths, longer than max_position_embeddings
// so dynamic NTK is in play) gives torch's greedy tokens (ixc_ref.py, KV cache
// with the official per-call base), spans per image and attention at the
// captured layer; scoring a batch of responses (each + end of turn) equals
// torch's full pass over each row alone; stop ids hold EOS and the end of turn.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IxcSession } from '../../../../electron/engine/generate/ixc-session';
import { writeRandomIxc } from '../../../../electron/engine/models/random-ixc-checkpoint';
import { IMAGE_INDEX_MARKER, IXC_TURN_END } from '../../../../electron/engine/text/ixc-prompt';
import { maxAbsDiff } from '../../../helpers/ort';
import { runReference } from '../../../helpers/reference';
import { runOracle, type Oracle } from '../../../helpers/sentencepiece-oracle';

const H = 32;
const rows = (n: number, seed: number) =>
  Float32Array.from({ length: n * H }, (_, i) => Math.sin(i * 0.53 + seed) * 0.8);
/** Crop grids at the fixture's 56 px crops (2x2 merged tokens a side): (r*c + 1)*4 + 1 + (r + 1)*2 rows. */
const GRIDS = [
  { rows: 2, cols: 3 },
  { rows: 2, cols: 2 },
];
const IMAGES = [rows(35, 1), rows(27, 2)];

/** Separator offsets of a grid's layout, written from the official order: global rows + sub_GN, glb_GN, crop rows + sub_GN. */
function separators(g: { rows: number; cols: number }): Set<number> {
  const out = new Set<number>();
  let at = 0;
  const row = (tokens: number) => {
    at += tokens;
    out.add(at++);
  };
  for (let i = 0; i < 2; i++) row(2); // global view rows, each + sub_GN
  out.add(at++); // glb_GN
  for (let i = 0; i < 2 * g.rows; i++) row(2 * g.cols); // crop-grid rows, each + sub_GN
  return out;
}
const PROMPT = { query: 'Image1:<image>\nImage2:<image>\nWhich one shows the cat?' };

let oracle: Oracle;
let session: IxcSession;
let dir: string;
beforeAll(async () => {
  oracle = runOracle(['internlm2'], [], []);
  ({ dir } = await writeRandomIxc({ seed: 4, vocab: oracle.models['internlm2']!.size }));
  copyFileSync(path.join(oracle.models['internlm2']!.dir, 'tokenizer.model'), path.join(dir, 'tokenizer.model'));
  const config = { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  session = await IxcSession.open(dir, { ep: 'cpu', captureLayers: [1] });
}, 60_000);
afterAll(async () => {
  await session.close();
  rmSync(oracle.root, { recursive: true, force: true });
});

/** One ixc_ref.py request; prompt ids with each image's rows marked -1. */
function reference(
  runs: { name: string; ids: number[]; logits?: 'all'; steps?: number; attention_layers?: number[] }[],
) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'ixc-session-'));
  const file = path.join(tmp, 'rows.f32');
  const all = new Float32Array(IMAGES.reduce((a, f) => a + f.length, 0));
  IMAGES.reduce((at, f) => {
    all.set(f, at);
    return at + f.length;
  }, 0);
  writeFileSync(file, new Uint8Array(all.buffer));
  const req = runs.map(({ ids, ...r }) => ({
    ...r,
    input_ids: ids.map((x) => (x === IMAGE_INDEX_MARKER ? -1 : x)),
    image_rows: file,
  }));
  writeFileSync(path.join(tmp, 'req.json'), JSON.stringify({ runs: req }));
  return runReference('ixc_ref.py', [dir, path.join(tmp, 'req.json')]);
}

describe('IxcSession', () => {
  it('stops at EOS and at the end-of-turn token', () => {
    expect([...session.stops.tokenIds].sort((a, b) => a - b)).toEqual([2, session.tokenizer.tokenId(IXC_TURN_END)!]);
  });

  it('generates torch greedy tokens through dynamic NTK, with per-image spans and attention', async () => {
    const a = await session.answer({ prompt: PROMPT, images: IMAGES, grids: GRIDS, maxNewTokens: 6 });
    const g = a.generation;
    expect(g.imageSpans.map((s) => s.end - s.start)).toEqual([35, 27]);
    expect(g.inputIds.length).toBeGreaterThan(64); // past max_position_embeddings: the base grows
    const ref = reference([{ name: 'gen', ids: g.inputIds, steps: g.tokens.length, attention_layers: [1] }]);
    const r = ref.config['gen'] as { tokens: number[]; attention: Record<string, number[][]> };
    expect(g.tokens).toEqual(r.tokens);
    // Decode steps' rows (the prefill row is not recorded by default) against torch's rows of the same steps.
    const rowsRef = r.attention['1']!.slice(1);
    const got = g.attention[0]!.rows;
    expect(got.length).toBe(rowsRef.length);
    got.forEach((row, i) => expect(maxAbsDiff(row, rowsRef[i]!)).toBeLessThanOrEqual(1e-5));
    // Per image: the mean over the whole span (separators included) and over its ViT tokens only, from torch's rows.
    const avg = (k: number) => rowsRef.reduce((acc, row) => acc + row[k]!, 0) / rowsRef.length;
    const means = g.imageSpans.map((span, i) => {
      const seps = separators(GRIDS[i]!);
      let whole = 0;
      let content = 0;
      for (let k = span.start; k < span.end; k++) {
        whole += avg(k);
        if (!seps.has(k - span.start)) content += avg(k);
      }
      return { whole: whole / (span.end - span.start), content: content / (span.end - span.start - seps.size) };
    });
    expect(a.imageMeans[0]!.layer).toBe(1);
    a.imageMeans[0]!.images.forEach((m, i) => {
      expect(m.whole).toBeCloseTo(means[i]!.whole, 6);
      expect(m.content).toBeCloseTo(means[i]!.content, 6);
      expect(Math.abs(means[i]!.whole - means[i]!.content)).toBeGreaterThan(1e-5);
    });
    expect(typeof a.text).toBe('string');
  });

  it('scores a batch of responses (each + end of turn) as torch scores each alone', async () => {
    const responses = ['the cat', 'a dog sat on the mat in the park'];
    const res = await session.score(PROMPT, IMAGES, responses);
    const end = session.tokenizer.tokenId(IXC_TURN_END)!;
    const promptIds = res.inputIds;
    const runs = responses.map((t, i) => ({
      name: `r${i}`,
      ids: [...promptIds, ...session.tokenizer.encode(t, { addSpecialTokens: false }), end],
      logits: 'all' as const,
    }));
    const ref = reference(runs);
    const v = session.model.spec.vocabSize;
    runs.forEach((run, i) => {
      const logits = ref.tensors.get(`r${i}.logits`)!.data;
      const want = run.ids.slice(promptIds.length).map((tok, j) => {
        const t = promptIds.length - 1 + j;
        const row = Array.from(logits.subarray(t * v, (t + 1) * v));
        const max = Math.max(...row);
        return row[tok]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      });
      expect(res.tokenLogprobs[i]).toHaveLength(want.length);
      expect(maxAbsDiff(res.tokenLogprobs[i]!, want)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('refuses embeddings that are not whole rows, a grid that does not fit its rows, and a placeholder mismatch', async () => {
    await expect(session.answer({ prompt: PROMPT, images: [IMAGES[0]!, new Float32Array(33)] })).rejects.toThrow(
      /image 2's features have 33 values, expected rows x 32/,
    );
    await expect(
      session.answer({ prompt: PROMPT, images: IMAGES, grids: [GRIDS[1]!, GRIDS[1]!], maxNewTokens: 1 }),
    ).rejects.toThrow(/image 1: a 2x2 crop grid has 27 rows, its embedding 35/);
    await expect(session.score(PROMPT, [IMAGES[0]!], ['x'])).rejects.toThrow(/2 <ImageHere> placeholders but 1 image/);
  });
});
