// Content-Security-Policy of the UI in the local web mode: only this origin
// for scripts, styles, images and fetches, plus its own WebSocket.

export function webContentSecurityPolicy(port: number): string {
  const ws = [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${ws.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}
