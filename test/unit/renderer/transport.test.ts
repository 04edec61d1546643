// The renderer's transport choice, and the web transport end to end against
// the real local web server (with a stub service behind it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApiClient, type ApiEvent, type ApiTransport } from '../../../shared/api';
import { AppError } from '../../../shared/errors';
import { startServer, type RunningServer } from '../../../electron/server';
import { pickTransport } from '../../../renderer/src/transport/pick';
import { webTransport } from '../../../renderer/src/transport/web';
import { KNOWN_COMPOSITE_ID, KNOWN_IMAGE_ID, KNOWN_SEEN, stubService } from '../server/stub-service';

describe('pickTransport', () => {
  const fakeApi: ApiTransport = {
    invoke: async () => null,
    onEvent: () => () => undefined,
    imageUrl: () => 'app://images/1',
    compositeUrl: () => 'app://images/composite/1',
    seenUrl: () => 'app://images/seen/1/0',
  };

  it('uses the preload API when there is one', () => {
    const picked = pickTransport({ api: fakeApi, location: { origin: 'app://app', search: '' } });
    expect(picked.kind).toBe('ipc');
    expect(picked.transport).toBe(fakeApi);
  });

  it('uses the web mode with the token from the URL otherwise', () => {
    const picked = pickTransport({ location: { origin: 'http://127.0.0.1:9', search: '?token=abc' } });
    expect(picked.kind).toBe('web');
    expect(picked.transport.imageUrl(4, 128)).toBe('http://127.0.0.1:9/images/4?size=128&token=abc');
    expect(picked.transport.compositeUrl(5)).toBe('http://127.0.0.1:9/images/composite/5?token=abc');
    expect(picked.transport.seenUrl(6, 2)).toBe('http://127.0.0.1:9/images/seen/6/2?token=abc');
  });

  it('explains a missing token and a broken preload', () => {
    expect(() => pickTransport({ location: { origin: 'http://127.0.0.1:9', search: '' } })).toThrow(/token/);
    expect(() => pickTransport({ api: { invoke: 1 }, location: { origin: 'app://app', search: '' } })).toThrow(
      /window.api/,
    );
  });
});

describe('web transport against startServer', () => {
  let dir: string;
  let server: RunningServer;
  let stub: ReturnType<typeof stubService>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mia-web-'));
    stub = stubService(dir);
    server = await startServer({ service: stub, rendererDir: dir });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (token = server.token) =>
    createApiClient(
      webTransport({
        origin: `http://127.0.0.1:${server.port}`,
        token,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      }),
    );

  it('runs commands and returns typed values', async () => {
    expect(await client().invoke('project.info', {})).toEqual({ project: null });
  });

  it('turns server errors back into AppError with their kind', async () => {
    const err = await client()
      .invoke('project.close', {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).kind).toBe('conflict');
  });

  it('is refused with a wrong token', async () => {
    await expect(client('wrong').invoke('project.info', {})).rejects.toThrow(/wrong token/);
  });

  it('delivers events and builds image URLs the server accepts', async () => {
    const c = client();
    const got = new Promise<ApiEvent>((resolve) => {
      const off = c.onEvent((e) => {
        off();
        resolve(e);
      });
    });
    const event: ApiEvent = { type: 'log', level: 'info', message: 'hello', jobId: null, at: 1 };
    // The socket connects asynchronously: emit until the listener has it.
    const timer = setInterval(() => stub.emit(event), 20);
    expect(await got).toEqual(event);
    clearInterval(timer);
    const res = await fetch(c.imageUrl(KNOWN_IMAGE_ID, 256));
    expect(res.status).toBe(200);
    const composite = await fetch(c.compositeUrl(KNOWN_COMPOSITE_ID));
    expect([composite.status, composite.headers.get('content-type')]).toEqual([200, 'image/png']);
    const seen = await fetch(c.seenUrl(KNOWN_SEEN.generationId, KNOWN_SEEN.index));
    expect([seen.status, seen.headers.get('content-type')]).toEqual([200, 'image/png']);
  });
});
