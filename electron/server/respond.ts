// Small HTTP response helpers of the local web mode: every response carries
// the same defensive headers (status codes of AppError kinds: service/http/status).
import type { ServerResponse } from 'node:http';

const BASE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // The token sits in the page URL: never leak it through Referer.
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
} as const;

export function send(
  res: ServerResponse,
  status: number,
  body: Buffer | string,
  headers: Record<string, string>,
): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), { 'Content-Type': 'application/json; charset=utf-8' });
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, text, { 'Content-Type': 'text/plain; charset=utf-8' });
}
