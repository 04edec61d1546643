// Entry of the session worker thread: answers the runtime's requests one at a
// time over the typed RPC (session creation and run block this thread, never
// the caller's) and posts log lines, e.g. why an EP fell back to CPU.
import { parentPort } from 'node:worker_threads';
import { serve } from '../../common/rpc';
import { EpDetector } from './ep';
import type { RuntimeCalls, RuntimeLogEvent } from './protocol';
import { SessionHost } from './session-host';

const port = parentPort;
if (!port) throw new Error('runtime.worker.ts must run in a worker thread');

const detector = new EpDetector();
const host = new SessionHost(detector, (level, message) => events.emit({ level, message }));

/** Transfers the output buffers (fresh per run) instead of copying them. */
function transferables(result: unknown): ArrayBuffer[] {
  if (typeof result !== 'object' || result === null) return [];
  const values = 'data' in result ? [result] : Object.values(result);
  const buffers = values.flatMap((v: { data?: { buffer?: unknown } }) =>
    v?.data?.buffer instanceof ArrayBuffer ? [v.data.buffer] : [],
  );
  return [...new Set(buffers)];
}

const events = serve<RuntimeCalls, RuntimeLogEvent>(
  port,
  {
    create: ({ model, options }) => host.create(model, options),
    run: ({ session, feeds, options }) => host.run(session, feeds, options),
    put: ({ tensor }) => host.put(tensor),
    read: ({ handle }) => host.read(handle),
    free: ({ handles }) => {
      host.free(handles);
      return null;
    },
    release: async ({ session }) => {
      await host.release(session);
      return null;
    },
    choose: ({ choice }) => detector.choose(choice),
    detect: () => detector.report(),
    stats: () => host.stats(),
    shutdown: async () => {
      await host.shutdown();
      return host.stats();
    },
  },
  { transfer: transferables },
);
