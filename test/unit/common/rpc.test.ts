// The one typed worker RPC (electron/common/rpc.ts) that the session worker
// and the store worker use: replies matched by sequence number, errors rebuilt
// into AppError with kind and subject, events, transfer lists, and every
// pending call failed when the worker dies.
import { afterAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../../../electron/common/rpc';
import { startWorker } from '../../../electron/common/worker';
import { AppError } from '../../../shared/errors';
import type { EchoCalls, EchoEvent } from './echo-protocol';

const events: string[] = [];
const start = () =>
  new RpcClient<EchoCalls, EchoEvent>(startWorker(new URL('./echo.worker.ts', import.meta.url)), {
    name: 'echo worker',
    onEvent: (e) => events.push(e.line),
  });
const rpc = start();
afterAll(() => rpc.worker.terminate());

describe('typed worker RPC', () => {
  it('matches each reply to its own call', async () => {
    const [slow, fast] = await Promise.all([
      rpc.call('slow', { ms: 30, tag: 'slow' }),
      rpc.call('echo', { text: 'fast' }),
    ]);
    expect([slow, fast]).toEqual(['slow', 'fast']);
  });

  it('rebuilds errors as AppError with kind and subject, and keeps serving', async () => {
    const e = await rpc.call('fail', { subject: 'sample 7' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ kind: 'bad-input', subject: 'sample 7', message: 'cannot do that to sample 7' });
    expect(await rpc.call('echo', { text: 'still here' })).toBe('still here');
  });

  it('delivers unsolicited events before the reply that follows them', async () => {
    events.length = 0;
    expect(await rpc.call('log', { lines: ['one', 'two'] })).toBe(2);
    expect(events).toEqual(['one', 'two']);
  });

  it('moves buffers in the transfer list instead of copying them', async () => {
    const data = Float32Array.from([1, 2, 3.5]);
    expect(await rpc.call('sum', { data }, [data.buffer])).toBe(6.5);
    expect(data.length).toBe(0);
  });

  it('fails every pending call, and refuses later ones, when the worker dies', async () => {
    const doomed = start();
    const waiting = doomed.call('slow', { ms: 5_000, tag: 'never' });
    await new Promise((r) => setTimeout(r, 50));
    void doomed.worker.terminate();
    await expect(waiting).rejects.toMatchObject({
      name: 'AppError',
      kind: 'runtime',
      message: /^the echo worker exited \(code \d+\)$/,
    });
    expect(await doomed.exited).toBeTypeOf('number');
    await expect(doomed.call('echo', { text: 'x' })).rejects.toMatchObject({ kind: 'runtime' });
  });
});
