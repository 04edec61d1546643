// `mia-dpo score`: per-token log-probs of one or more responses after a prompt
// with images (all responses in one batch, sharing the prompt).
import { EXIT, UsageError, writeJson, type CliCommand } from '../command';
import { LlavaSession } from '../../engine/generate/session';
import { MODEL_OPTIONS, promptInput, sessionOptions } from './model-args';

export const scoreCommand: CliCommand = {
  name: 'score',
  usage: 'score --model DIR [--image FILE]... --prompt TEXT --response TEXT... [--raw] [--adapter DIR [--merge-adapter]] [--pad] [--ep auto|cpu|webgpu|cuda] [--json]',
  summary: 'log-probabilities of responses to a prompt with images',
  options: { ...MODEL_OPTIONS, response: { type: 'string', multiple: true } },
  async run(args, io) {
    const responses = (args.values['response'] as unknown as string[] | undefined) ?? [];
    if (responses.length === 0) throw new UsageError('--response is required');
    const session = await LlavaSession.open(sessionOptions(args));
    try {
      const res = await session.score({ ...promptInput(args), responses });
      // One response: the fields as flat arrays, as scripts expect; several: one entry per response.
      const out = responses.length === 1 ? { input_ids: res.input_ids, response_ids: res.response_ids[0], token_logprobs: res.token_logprobs[0], sum_logprob: res.sum_logprob[0] } : res;
      if (args.values.json) writeJson(io, { ep: session.ep, ...out });
      else res.sum_logprob.forEach((s, i) => io.stdout.write(`response ${i + 1}: sum log-prob ${s.toFixed(4)} over ${res.response_ids[i]!.length} tokens\n`));
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
