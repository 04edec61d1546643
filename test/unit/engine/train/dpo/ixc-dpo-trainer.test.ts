// DpoTrainer on a tiny InternLM-XComposer-2.5 folder (SentencePiece tokenizer
// trained in the test): config.json's family picks IXC2.5's decoder, packing
// (images marked -200, each image its own row count) and LoRA targets. The
// reference log-probs equal IxcSession.score on the same rows (each response +
// end of turn); with fresh adapters (B = 0) the policy is the reference, so
// the first step's sigmoid loss is ln 2 and its margin 0; applying steps moves
// the chosen answer's log-prob up against the rejected one's.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IxcSession } from '../../../../../electron/engine/generate/ixc-session';
import { IXC_LORA_TARGETS } from '../../../../../electron/engine/models/ixc';
import { encodeIxcPrompt } from '../../../../../electron/engine/text/ixc-prompt';
import { ADAMW_DEFAULTS } from '../../../../../electron/engine/train/adamw';
import { DPO_DEFAULTS, DpoTrainer } from '../../../../../electron/engine/train/dpo/trainer';
import { writeTinyIxc, type TinyIxc } from '../../../../helpers/tiny-ixc';
import { photoLike, tempDir, writeRgbPng } from '../../vision/draw-images';

let tiny: TinyIxc;
let session: IxcSession;
let image: string;
const QUERY = 'What is in the picture?';

beforeAll(async () => {
  tiny = await writeTinyIxc(13);
  session = await IxcSession.open(tiny.dir, { ep: 'cpu' });
  image = await writeRgbPng(path.join(tempDir('ixc-dpo-img-'), 'a.png'), photoLike(60, 50, 5), 60, 50);
}, 120_000);

afterAll(async () => {
  await session?.close();
  tiny?.cleanup();
});

describe('DpoTrainer on an IXC2.5 folder', () => {
  it('reference log-probs equal IxcSession.score; the first step is ln 2; steps raise chosen over rejected', async () => {
    const trainer = await DpoTrainer.create({
      modelDir: tiny.dir,
      ep: 'cpu',
      lora: { rank: 4, alpha: 8, rslora: false, targets: IXC_LORA_TARGETS, dropout: 0 },
      dpo: DPO_DEFAULTS,
      adamw: { ...ADAMW_DEFAULTS, weightDecay: 0 },
      seed: 3,
    });
    try {
      const features = await trainer.imageFeatures([image]);
      const promptIds = encodeIxcPrompt(session.tokenizer, { query: QUERY }, { images: 1 }).inputIds;
      expect(promptIds.filter((x) => x === -200)).toHaveLength(1);
      const [chosen, rejected] = ['a small red cat', 'nothing'];
      const pair = {
        promptIds,
        features,
        chosenIds: session.responseIds(chosen),
        rejectedIds: session.responseIds(rejected),
      };
      const ref = await trainer.referenceLogprobs([pair]);
      const want = await session.score({ query: QUERY }, features, [chosen, rejected]);
      expect(ref.chosen[0]).toBeCloseTo(want.sumLogprobs[0]!, 3);
      expect(ref.rejected[0]).toBeCloseTo(want.sumLogprobs[1]!, 3);
      const example = { ...pair, refChosen: ref.chosen[0]!, refRejected: ref.rejected[0]! };
      const first = await trainer.step([example], { lr: 5e-3, apply: true, stepIndex: 0 });
      expect(first.loss).toBeCloseTo(Math.LN2, 5);
      expect(first.margin).toBeCloseTo(0, 5);
      expect(first.gradNorm).toBeGreaterThan(0);
      let last = first;
      for (let s = 1; s < 4; s++) last = await trainer.step([example], { lr: 5e-3, apply: true, stepIndex: s });
      expect(last.margin).toBeGreaterThan(0);
      expect(last.loss).toBeLessThan(Math.LN2);
    } finally {
      await trainer.close();
    }
  });
});
