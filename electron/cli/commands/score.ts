// `mia-dpo score`: per-token log-probs of one or more responses after a prompt
// with images (all responses in one batch, sharing the prompt).
import { EXIT, jsonOutput, writeJson, type CliCommand } from '../command';
import { openModelSession } from '../../engine/generate/model-session';
import { epLine } from '../ep-line';
import { repeatableOption } from '../options';
import { defineModelOptions, modelArgs, promptInput, sessionOptions } from './model-args';

export const scoreCommand: CliCommand = {
  name: 'score',
  summary: 'log-probabilities of responses to a prompt with images',
  define: (cmd) =>
    defineModelOptions(cmd).addOption(
      repeatableOption('--response <TEXT>', 'a response to score').makeOptionMandatory(),
    ),
  async run(args, io) {
    const m = modelArgs(args);
    const responses = args.values['response'] as string[];
    const session = await openModelSession(sessionOptions(m));
    try {
      if (!jsonOutput(args)) {
        io.stderr.write(epLine(m.ep, { ep: session.ep, fallbackReason: session.epFallback }));
        io.stderr.write(`weights: ${session.weights}\n`);
      }
      const res = await session.score({ ...promptInput(m), responses });
      // One response: the fields as flat arrays, as scripts expect; several: one entry per response.
      const out =
        responses.length === 1
          ? {
              input_ids: res.input_ids,
              response_ids: res.response_ids[0],
              token_logprobs: res.token_logprobs[0],
              sum_logprob: res.sum_logprob[0],
            }
          : res;
      if (jsonOutput(args)) writeJson(io, { ep: session.ep, ...out });
      else
        res.sum_logprob.forEach((s, i) =>
          io.stdout.write(
            `response ${i + 1}: sum log-prob ${s.toFixed(4)} over ${res.response_ids[i]!.length} tokens\n`,
          ),
        );
      return EXIT.ok;
    } finally {
      await session.close();
    }
  },
};
