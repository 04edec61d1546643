// Access checks of the local web mode: every request must come to a loopback
// Host, from a loopback Origin of this same server (DNS-rebinding defence),
// and carry the session token (query, header or cookie), compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ErrorKind } from '../../shared/errors';

export const TOKEN_HEADER = 'x-mia-token';
export const TOKEN_QUERY = 'token';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A fresh 256-bit token, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Cookie name carrying the token; includes the port because cookies ignore ports. */
export function tokenCookieName(port: number): string {
  return `mia-dpo-token-${port}`;
}

/** Constant-time equality: hashing first makes both sides the same length. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `host[:port]` as sent in a Host header, split; undefined when malformed. */
function splitHost(hostHeader: string): { host: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  if (!m) return undefined;
  return { host: m[1]!.toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/** True when the Host header names this server on a loopback name. */
export function isLoopbackHost(hostHeader: string | undefined, port: number): boolean {
  if (hostHeader === undefined) return false;
  const parsed = splitHost(hostHeader);
  return parsed !== undefined && LOOPBACK_HOSTS.has(parsed.host) && parsed.port === port;
}

/** True when the Origin is absent (same-origin GETs, non-browser clients) or is this server on loopback. */
export function isAllowedOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return false;
  return LOOPBACK_HOSTS.has(url.hostname.toLowerCase()) && Number(url.port) === port;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The token a request presents: query parameter, then header, then cookie. */
export function presentedToken(req: IncomingMessage, url: URL, port: number): string | undefined {
  const fromQuery = url.searchParams.get(TOKEN_QUERY);
  if (fromQuery !== null) return fromQuery;
  const fromHeader = req.headers[TOKEN_HEADER];
  if (typeof fromHeader === 'string') return fromHeader;
  return cookieValue(req.headers.cookie, tokenCookieName(port));
}

/** Why a request is refused: its error kind gives the HTTP status (401 or 403, electron/service/http/status.ts). */
export type Refusal = { kind: Extract<ErrorKind, 'unauthorized' | 'forbidden'>; reason: string };

/** Why a request must be refused, or undefined when it may proceed. */
export function checkRequest(req: IncomingMessage, url: URL, port: number, token: string): Refusal | undefined {
  if (!isLoopbackHost(req.headers.host, port)) return { kind: 'forbidden', reason: 'Host is not this loopback server' };
  const origin = req.headers.origin;
  if (!isAllowedOrigin(typeof origin === 'string' ? origin : undefined, port)) {
    return { kind: 'forbidden', reason: 'Origin is not this loopback server' };
  }
  const given = presentedToken(req, url, port);
  if (given === undefined) return { kind: 'unauthorized', reason: 'missing token' };
  if (!tokensEqual(given, token)) return { kind: 'unauthorized', reason: 'wrong token' };
  return undefined;
}
