import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/errors';
import { createAppProtocolHandler } from '../../../electron/main/app-protocol';

let dir: string;
let handle: (r: Request) => Promise<Response>;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mia-proto-'));
  const ui = path.join(dir, 'ui');
  mkdirSync(path.join(ui, 'assets'), { recursive: true });
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
  writeFileSync(path.join(ui, 'assets', 'a.js'), 'export {}');
  writeFileSync(path.join(dir, 'secret.txt'), 'TOP-SECRET');
  writeFileSync(path.join(dir, 'thumb.jpg'), 'JPEGDATA');
  writeFileSync(path.join(dir, 'composite.png'), 'PNGDATA');
  handle = createAppProtocolHandler({
    rendererDir: ui,
    csp: "default-src 'none'",
    images: {
      thumbnails: async (id) => {
        if (id !== 1) throw new AppError('not-found', `image ${id} is not in the project`);
        return { path: path.join(dir, 'thumb.jpg'), mime: 'image/jpeg' };
      },
      composites: async (id) => {
        if (id !== 3) throw new AppError('not-found', `augmented sample ${id} has no composite`);
        return { path: path.join(dir, 'composite.png'), mime: 'image/png' };
      },
      seen: async (generationId, index) => {
        if (generationId !== 5 || index !== 1)
          throw new AppError('not-found', `generation ${generationId} has no seen image ${index}`);
        return { path: path.join(dir, 'composite.png'), mime: 'image/png' };
      },
    },
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => handle(new Request(url, { method }));

describe('app:// protocol', () => {
  it('serves the UI with its CSP and assets with their type', async () => {
    const page = await get('app://app/index.html');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'none'");
    const js = await get('app://app/assets/a.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('never serves files outside the UI folder', async () => {
    for (const url of [
      'app://app/../secret.txt',
      'app://app/%2e%2e/secret.txt',
      'app://app/assets/..%2f..%2fsecret.txt',
    ]) {
      const r = await get(url);
      expect(r.status, url).toBe(404);
      expect(await r.text()).not.toContain('TOP-SECRET');
    }
  });

  it('serves thumbnails of known images only', async () => {
    const ok = await get('app://images/1?size=256');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect(await ok.text()).toBe('JPEGDATA');
    expect((await get('app://images/2?size=256')).status).toBe(404);
    expect((await get('app://images/1?size=7')).status).toBe(400);
    expect((await get('app://images/..%2fsecret.txt')).status).toBe(400);
  });

  it('serves composites of known augmented samples only, by id', async () => {
    const ok = await get('app://images/composite/3');
    expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'image/png', 'PNGDATA']);
    expect((await get('app://images/composite/4')).status).toBe(404);
    const bad = [
      'app://images/composite/x',
      'app://images/composite/..%2f..%2fsecret.txt',
      'app://images/composite/3?size=256',
      'app://images/composite/3/4',
    ];
    for (const url of bad) {
      const r = await get(url);
      expect(r.status, url).toBe(400);
      expect(await r.text()).not.toContain('TOP-SECRET');
    }
  });

  it('serves seen (perturbed) images by generation id and index only', async () => {
    const ok = await get('app://images/seen/5/1');
    expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'image/png', 'PNGDATA']);
    expect((await get('app://images/seen/5/0')).status).toBe(404);
    expect((await get('app://images/seen/6/1')).status).toBe(404);
    const bad = [
      'app://images/seen/5',
      'app://images/seen/x/1',
      'app://images/seen/5/1/2',
      'app://images/seen/..%2f..%2fsecret.txt',
      'app://images/seen/5/1?size=256',
    ];
    for (const url of bad) {
      const r = await get(url);
      expect(r.status, url).toBe(400);
      expect(await r.text()).not.toContain('TOP-SECRET');
    }
  });

  it('refuses other hosts and methods', async () => {
    expect((await get('app://elsewhere/index.html')).status).toBe(404);
    expect((await get('app://app/index.html', 'POST')).status).toBe(405);
  });
});
