// Local web mode: the same API as the Electron app, over HTTP + WebSocket on
// 127.0.0.1, for headless use (`mia-dpo serve`) and browser tests. Every
// request is checked by ./guard (loopback Host/Origin, token) before routing.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Service } from '../service/types';
import { API_PREFIX, handleApi } from './api-route';
import { EventsSocket, EVENTS_PATH } from './events-socket';
import { checkRequest, newToken, tokenCookieName, TOKEN_QUERY } from './guard';
import { handleImage, IMAGES_PREFIX } from './image-route';
import { send, sendJson, sendText } from './respond';
import { readStatic } from '../service/http/static-files';
import { statusOfKind } from '../service/http/status';
import { webContentSecurityPolicy } from './csp';
import { DEFAULT_RENDERER_DIR, ensureRendererBuilt } from './renderer-build';

/** The part of the service the web mode needs. */
export type ServedService = Pick<Service, 'handlers' | 'onEvent' | 'getThumbnail' | 'getComposite' | 'getSeen'>;

export interface StartServerOptions {
  service: ServedService;
  /** 0 or absent: a free port chosen by the OS. */
  port?: number;
  /** The built renderer. Default: renderer/dist of this checkout, built first if missing or stale. */
  rendererDir?: string;
  /** Progress lines (the one-time UI build). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** Open this in a browser: `http://127.0.0.1:PORT/?token=...`. */
  url: string;
  token: string;
  port: number;
  close(): Promise<void>;
}

async function serveStatic(
  res: ServerResponse,
  url: URL,
  rendererDir: string,
  port: number,
  token: string,
): Promise<void> {
  const file = await readStatic(rendererDir, url.pathname);
  if (file === undefined) {
    sendText(
      res,
      404,
      `not found: ${url.pathname}${url.pathname === '/' ? ' (is the renderer built? npm run build:renderer)' : ''}`,
    );
    return;
  }
  const headers: Record<string, string> = { 'Content-Type': file.contentType };
  if (file.contentType.startsWith('text/html')) {
    headers['Content-Security-Policy'] = webContentSecurityPolicy(port);
    // Later asset requests cannot carry the query token; the cookie (HttpOnly, Strict) does.
    headers['Set-Cookie'] = `${tokenCookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
  }
  send(res, 200, file.body, headers);
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  if (options.rendererDir === undefined) await ensureRendererBuilt(options.log);
  const token = newToken();
  const rendererDir = options.rendererDir ?? DEFAULT_RENDERER_DIR;
  const { service } = options;
  let port = 0;
  const images = {
    thumbnails: (id: number, size: number) => service.getThumbnail(id, size),
    composites: (id: number) => service.getComposite(id),
    seen: (generationId: number, index: number) => service.getSeen(generationId, index),
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refusal = checkRequest(req, url, port, token);
    if (refusal !== undefined) {
      // ApiReply-shaped, so the API client shows the reason like any other error.
      sendJson(res, statusOfKind(refusal.kind), {
        ok: false,
        error: { kind: refusal.kind, message: `refused by the local server: ${refusal.reason}` },
      });
      return;
    }
    if (url.pathname.startsWith(API_PREFIX)) return handleApi(req, res, url.pathname, service.handlers);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, {
        ok: false,
        error: { kind: 'bad-input', message: `${req.method} ${url.pathname} is not allowed` },
      });
      return;
    }
    if (url.pathname.startsWith(IMAGES_PREFIX)) return handleImage(res, url, images);
    return serveStatic(res, url, rendererDir, port, token);
  };

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, {
          ok: false,
          error: { kind: 'internal', message: e instanceof Error ? e.message : String(e) },
        });
      else res.destroy();
    });
  });
  const events = new EventsSocket(service, (req, url) => checkRequest(req, url, port, token));
  server.on('upgrade', (req, socket, head) => events.upgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?${TOKEN_QUERY}=${token}`,
    token,
    port,
    close: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export { EVENTS_PATH };
