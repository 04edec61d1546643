// Entry of the session worker thread: answers protocol requests one at a
// time (session creation and run block this thread, never the caller's) and
// turns every failure into a {kind, message} reply.
import { parentPort } from 'node:worker_threads';
import { toAppError } from '../../../shared/errors';
import { EpDetector } from './ep';
import type { Reply, Request, Results } from './protocol';
import { SessionHost } from './session-host';

const port = parentPort;
if (!port) throw new Error('runtime.worker.ts must run in a worker thread');

const detector = new EpDetector();
const host = new SessionHost(detector, (level, message) => port.postMessage({ seq: null, type: 'log', level, message } satisfies Reply));

async function handle(req: Request): Promise<Results[Request['type']]> {
  switch (req.type) {
    case 'create':
      return host.create(req.model, req.options);
    case 'run':
      return host.run(req.session, req.feeds, req.options);
    case 'read':
      return host.read(req.handle);
    case 'free':
      host.free(req.handles);
      return null;
    case 'release':
      await host.release(req.session);
      return null;
    case 'detect':
      return detector.report();
    case 'stats':
      return host.stats();
    case 'shutdown':
      await host.shutdown();
      return host.stats();
  }
}

/** Transfers the output buffers (fresh per run) instead of copying them. */
function transferables(result: unknown): ArrayBuffer[] {
  if (typeof result !== 'object' || result === null) return [];
  const values = 'data' in result ? [result] : Object.values(result);
  const buffers = values.flatMap((v: { data?: { buffer?: unknown } }) => (v?.data?.buffer instanceof ArrayBuffer ? [v.data.buffer] : []));
  return [...new Set(buffers)];
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (req: Request) => {
  queue = queue.then(async () => {
    try {
      const result = await handle(req);
      port.postMessage({ seq: req.seq, type: 'ok', result } satisfies Reply, transferables(result));
    } catch (e) {
      port.postMessage({ seq: req.seq, type: 'error', error: toAppError(e).toJSON() } satisfies Reply);
    }
  });
});
