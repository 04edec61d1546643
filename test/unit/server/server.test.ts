import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../../electron/server';
import { KNOWN_COMPOSITE_ID, KNOWN_IMAGE_ID, KNOWN_SEEN, PNG_1x1, stubService } from './stub-service';

let dir: string;
let server: RunningServer;
let stub: ReturnType<typeof stubService>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'mia-server-'));
  const rendererDir = path.join(dir, 'dist');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>ui</title>');
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(dir, 'secret.txt'), 'TOP-SECRET-CONTENT');
  stub = stubService(dir);
  server = await startServer({ service: stub, rendererDir });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  raw: Buffer;
}

/** A raw request, so tests can forge Host and Origin headers like a rebinding page would. */
function call(
  method: string,
  pathAndQuery: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path: pathAndQuery,
        headers: { Host: `127.0.0.1:${server.port}`, ...opts.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = { 'Content-Type': 'application/json' };
const withToken = (p: string) => `${p}${p.includes('?') ? '&' : '?'}token=${server.token}`;

describe('startServer', () => {
  it('answers an oversized body with 413 in the reply shape, not a connection reset (issue 13 item 7)', async () => {
    const before = stub.calls.length;
    const body = `{"pad":"${'x'.repeat(2 << 20)}"}`;
    const r = await call('POST', '/api/project.info', { headers: { ...json, 'x-mia-token': server.token }, body });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ ok: false, error: { kind: 'bad-input' } });
    expect(stub.calls.length).toBe(before);
  });

  it('answers a malformed %-encoding in the command name with 400 bad-input (issue 13 item 7)', async () => {
    const r = await call('POST', '/api/project.%E0%A4%A', {
      headers: { ...json, 'x-mia-token': server.token },
      body: '{}',
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({
      ok: false,
      error: { kind: 'bad-input', message: expect.stringContaining('%-encoding') },
    });
  });

  it('binds 127.0.0.1 and puts the token in the URL', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
  });

  it('runs a command with the token in a header', async () => {
    const r = await call('POST', '/api/project.info', {
      headers: { ...json, 'x-mia-token': server.token },
      body: '{}',
    });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ok: true, value: { project: null } });
  });

  it.each([
    ['no token', {}, 401, 'unauthorized'],
    ['a wrong token', { 'x-mia-token': 'x'.repeat(43) }, 401, 'unauthorized'],
    ['a foreign Origin', { 'x-mia-token': 'TOKEN', Origin: 'http://evil.example' }, 403, 'forbidden'],
    ['a foreign Host', { 'x-mia-token': 'TOKEN', Host: 'evil.example:80' }, 403, 'forbidden'],
    [
      'a rebinding Host on the right port',
      { 'x-mia-token': 'TOKEN', Host: 'rebind.evil.example:PORT' },
      403,
      'forbidden',
    ],
  ])(
    'refuses an API call with %s and does not run it',
    async (_name, headers: Record<string, string>, status, kind) => {
      const before = stub.calls.length;
      const forged = Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [
          k,
          v.replace('PORT', String(server.port)).replace('TOKEN', server.token),
        ]),
      );
      const r = await call('POST', '/api/project.info', { headers: { ...json, ...forged }, body: '{}' });
      expect(r.status).toBe(status);
      // An auth kind, not bad-input: the client can tell a refused request from a malformed one.
      expect(JSON.parse(r.body)).toMatchObject({
        ok: false,
        error: { kind, message: expect.stringMatching(/^refused by the local server: /) },
      });
      expect(stub.calls.length).toBe(before);
    },
  );

  it('refuses the page, assets and images without the token', async () => {
    for (const p of ['/', '/assets/app.js', `/images/${KNOWN_IMAGE_ID}?size=256`]) {
      expect((await call('GET', p)).status, p).toBe(401);
      expect((await call('GET', `${p}${p.includes('?') ? '&' : '?'}token=wrong`)).status, p).toBe(401);
    }
  });

  it('serves the page with a strict CSP and a token cookie that then opens the assets', async () => {
    const page = await call('GET', withToken('/'));
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const setCookie = String(page.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    expect(cookie).toBe(`mia-dpo-token-${server.port}=${server.token}`);
    expect(
      (await call('GET', '/assets/app.js', { headers: { Cookie: `mia-dpo-token-${server.port}=wrong` } })).status,
    ).toBe(401);
    const asset = await call('GET', '/assets/app.js', { headers: { Cookie: cookie } });
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
  });

  it('does not serve files outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const r = await call('GET', withToken(p));
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('TOP-SECRET-CONTENT');
    }
  });

  it('returns typed bad-input errors for malformed payloads', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/samples.page', '{"limit": -3}', /limit/],
      ['/api/samples.page', '{"offset": 0, "bogus": 1}', /bogus/],
      ['/api/samples.page', '{not json', /not valid JSON/],
      ['/api/no.such.command', '{}', /unknown command/],
      ['/api/jobs.get', '{"id": "seven"}', /id/],
    ];
    for (const [p, body, message] of cases) {
      const r = await call('POST', withToken(p), { headers: json, body });
      expect(r.status, p + body).toBe(400);
      const reply = JSON.parse(r.body) as { ok: boolean; error: { kind: string; message: string } };
      expect(reply.ok).toBe(false);
      expect(reply.error.kind).toBe('bad-input');
      expect(reply.error.message).toMatch(message);
    }
  });

  it('carries handler errors with their kind and refuses non-JSON bodies and GET on the API', async () => {
    const r = await call('POST', withToken('/api/project.close'), { headers: json, body: '{}' });
    expect(r.status).toBe(409);
    expect(JSON.parse(r.body).error.kind).toBe('conflict');
    expect(
      (await call('POST', withToken('/api/project.info'), { headers: { 'Content-Type': 'text/plain' }, body: '{}' }))
        .status,
    ).toBe(415);
    expect((await call('GET', withToken('/api/project.info'))).status).toBe(405);
  });

  it('serves thumbnails only of images the project knows', async () => {
    const ok = await call('GET', withToken(`/images/${KNOWN_IMAGE_ID}?size=256`));
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('image/png');
    expect(ok.raw.equals(PNG_1x1)).toBe(true);
    expect((await call('GET', withToken('/images/8?size=256'))).status).toBe(404);
    expect((await call('GET', withToken('/images/..%2fsecret.txt?size=256'))).status).toBe(400);
    expect((await call('GET', withToken(`/images/${KNOWN_IMAGE_ID}?size=99`))).status).toBe(400);
  });

  it('serves composites by augmented-sample id only', async () => {
    const ok = await call('GET', withToken(`/images/composite/${KNOWN_COMPOSITE_ID}`));
    expect([ok.status, ok.headers['content-type']]).toEqual([200, 'image/png']);
    expect(ok.raw.equals(PNG_1x1)).toBe(true);
    expect((await call('GET', withToken('/images/composite/13'))).status).toBe(404);
    for (const bad of [
      '/images/composite/',
      '/images/composite/-1',
      '/images/composite/1.5',
      '/images/composite/..%2fsecret.txt',
      '/images/composite/12/x',
    ]) {
      expect((await call('GET', withToken(bad))).status, bad).toBe(400);
    }
    expect((await call('GET', withToken(`/images/composite/${KNOWN_COMPOSITE_ID}?size=256`))).status).toBe(400);
    expect((await call('GET', `/images/composite/${KNOWN_COMPOSITE_ID}`)).status).toBe(401);
    expect(
      (
        await call('GET', withToken(`/images/composite/${KNOWN_COMPOSITE_ID}`), {
          headers: { Origin: 'http://evil.example' },
        })
      ).status,
    ).toBe(403);
  });

  it('serves seen (perturbed) images by generation id and index only', async () => {
    const known = `/images/seen/${KNOWN_SEEN.generationId}/${KNOWN_SEEN.index}`;
    const ok = await call('GET', withToken(known));
    expect([ok.status, ok.headers['content-type']]).toEqual([200, 'image/png']);
    expect(ok.raw.equals(PNG_1x1)).toBe(true);
    expect((await call('GET', withToken(`/images/seen/${KNOWN_SEEN.generationId}/0`))).status).toBe(404);
    expect((await call('GET', withToken(`/images/seen/22/${KNOWN_SEEN.index}`))).status).toBe(404);
    for (const bad of [
      '/images/seen/',
      '/images/seen/21',
      '/images/seen/21/',
      '/images/seen/-1/0',
      '/images/seen/21/1.5',
      '/images/seen/21/1/2',
      '/images/seen/..%2fsecret.txt',
    ]) {
      expect((await call('GET', withToken(bad))).status, bad).toBe(400);
    }
    expect((await call('GET', withToken(`${known}?size=256`))).status).toBe(400);
    expect((await call('GET', known)).status).toBe(401);
    expect((await call('GET', withToken(known), { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('pushes events over the WebSocket, and refuses sockets without the token or from a foreign Origin', async () => {
    const wsUrl = `ws://127.0.0.1:${server.port}/events`;
    const refused = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
      });
    expect(await refused(wsUrl)).toBe(401);
    expect(await refused(`${wsUrl}?token=${server.token}`, { Origin: 'http://evil.example' })).toBe(403);

    const ws = new WebSocket(`${wsUrl}?token=${server.token}`, {
      headers: { Origin: `http://127.0.0.1:${server.port}` },
    });
    await new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
    });
    const got = new Promise<unknown>((resolve) => ws.on('message', (data) => resolve(JSON.parse(String(data)))));
    const event = {
      type: 'job.progress',
      jobId: 3,
      progress: { done: 1, total: 2, ratePerSec: 5, etaSec: 0.2 },
    } as const;
    stub.emit(event);
    expect(await got).toEqual(event);
    ws.close();
  });
});
