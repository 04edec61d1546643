// A worker for the RPC tests: echoes, fails with a kind, posts events, sums a
// transferred buffer.
import { parentPort } from 'node:worker_threads';
import { AppError } from '../../../shared/errors';
import { serve } from '../../../electron/common/rpc';
import type { EchoCalls, EchoEvent } from './echo-protocol';

const events = serve<EchoCalls, EchoEvent>(parentPort!, {
  echo: ({ text }) => text,
  fail: ({ subject }) => {
    throw new AppError('bad-input', `cannot do that to ${subject}`, { subject });
  },
  slow: async ({ ms, tag }) => {
    await new Promise((r) => setTimeout(r, ms));
    return tag;
  },
  log: ({ lines }) => {
    for (const line of lines) events.emit({ line });
    return lines.length;
  },
  sum: ({ data }) => data.reduce((a, b) => a + b, 0),
});
