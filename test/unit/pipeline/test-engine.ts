// A deterministic stand-in for the model engine, for job tests only: it
// answers from the prompt's length and returns uniform attention maps, so
// tests can check bookkeeping (cursor, commits, metrics) without a model.
import type { ResponseEngine, ResponseRequest, ResponseResult } from '../../../electron/pipeline/respond/engine-interface';

export function testEngine(options: { delayMs?: number; calls?: ResponseRequest[] } = {}): ResponseEngine {
  return {
    modelId: 'test-engine',
    async generate(request): Promise<ResponseResult> {
      options.calls?.push(request);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const text = request.prompt.length % 2 === 0 ? 'A blue circle.' : 'A red square on grey.';
      const tokens = Array.from(text, (c) => c.codePointAt(0) as number);
      const maps = request.images.map(() => new Float32Array(576).fill(1));
      return {
        text,
        tokens,
        maxProbs: new Float32Array(tokens.length).fill(0.5),
        logProbs: new Float32Array(tokens.length).fill(Math.log(0.4)),
        perImageMean: maps.map(() => 1),
        attentionMaps: maps,
        patchSide: 24,
        preprocessing: { mode: 'pad', size: 336 },
        timing: { prefillMs: 1, decodeMs: 1 },
      };
    },
    tokenize: (text) => Array.from(text, (c) => c.codePointAt(0) as number),
    close: async () => undefined,
  };
}
