// Entry of the model-engine worker thread: opens one ModelEngine (its
// onnxruntime sessions live here, so session.run blocks this thread, never
// the server's or the UI's) and answers WorkerEngine's calls one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { AppError, toAppError } from '../../../shared/errors';
import type { EngineCall, EngineMessage, EngineReady, EngineReply, EngineResults, EngineWorkerData } from './engine-protocol';
import { resultTransferables } from './engine-protocol';
import { ModelEngine } from './model-engine';

if (!parentPort) throw new Error('model-engine.worker.ts must run in a worker thread');
const port = parentPort;

/** The open engine, or null when opening failed: then no listener is attached and the worker ends after saying why. */
async function open(): Promise<ModelEngine | null> {
  try {
    const opened = await ModelEngine.open(workerData as EngineWorkerData);
    port.postMessage({ type: 'ready', info: { modelId: opened.modelId, layer: opened.layer, ep: opened.ep } } satisfies EngineReady);
    return opened;
  } catch (e) {
    port.postMessage({ type: 'failed', error: toAppError(e).toJSON() } satisfies EngineReady);
    return null;
  }
}

/** Controllers of generate calls received and not yet answered, by seq: a cancel may come while one waits its turn. */
const inFlight = new Map<number, AbortController>();

async function handle(engine: ModelEngine, call: EngineCall): Promise<EngineResults[EngineCall['type']]> {
  switch (call.type) {
    case 'generate': {
      const signal = inFlight.get(call.seq)!.signal;
      return engine.generate({ ...call.request, signal });
    }
    case 'tokenize':
      return engine.tokenize(call.text);
    case 'close':
      await engine.close();
      return null;
  }
}

const engine = await open();
let queue: Promise<void> = Promise.resolve();
if (engine) port.on('message', (m: EngineMessage) => {
  // Cancels are handled on arrival, not queued: the engine checks the signal between decode steps.
  if (m.type === 'cancel') return void inFlight.get(m.target)?.abort(new AppError('cancelled', 'the generation was cancelled'));
  if (m.type === 'generate') inFlight.set(m.seq, new AbortController());
  queue = queue.then(async () => {
    try {
      const result = await handle(engine, m);
      port.postMessage({ seq: m.seq, type: 'ok', result } satisfies EngineReply, resultTransferables(result));
    } catch (e) {
      port.postMessage({ seq: m.seq, type: 'error', error: toAppError(e).toJSON() } satisfies EngineReply);
    } finally {
      inFlight.delete(m.seq);
    }
    if (m.type === 'close') port.close();
  });
});
