// Transport of the local web mode: commands as POST /api/<channel>, events
// from the /events WebSocket (reconnecting), thumbnails from /images/<id>, composites from /images/composite/<id>,
// the images a perturbed generation's model saw from /images/seen/<generationId>/<index>.
// The token comes from the page URL and goes with every request.
import type { ApiTransport, Channel, ThumbnailSize } from '../../../shared/api';
import { COMPOSITE_SEGMENT, SEEN_SEGMENT } from '../../../shared/pipeline/image-route';

export const TOKEN_HEADER = 'x-mia-token';
const RECONNECT_MS = 1000;

export interface WebTransportOptions {
  /** e.g. http://127.0.0.1:4000 */
  origin: string;
  token: string;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
}

export function webTransport(options: WebTransportOptions): ApiTransport {
  const { origin, token } = options;
  const doFetch = options.fetch ?? fetch.bind(globalThis);
  const listeners = new Set<(event: unknown) => void>();
  const q = `token=${encodeURIComponent(token)}`;
  let socket: WebSocket | undefined;

  const connect = (): void => {
    // Resolved on first use: a page that never listens needs no WebSocket.
    const Socket = options.WebSocket ?? WebSocket;
    const ws = new Socket(`${origin.replace(/^http/, 'ws')}/events?${q}`);
    socket = ws;
    ws.onmessage = (m: MessageEvent) => {
      let event: unknown;
      try {
        event = JSON.parse(String(m.data));
      } catch {
        return;
      }
      for (const l of listeners) l(event);
    };
    // The server restarts or the laptop sleeps: keep listening while anyone listens.
    ws.onclose = () => {
      socket = undefined;
      if (listeners.size > 0) setTimeout(() => listeners.size > 0 && socket === undefined && connect(), RECONNECT_MS);
    };
  };

  return {
    async invoke(channel: Channel, payload: unknown): Promise<unknown> {
      const res = await doFetch(`${origin}/api/${encodeURIComponent(channel)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: token },
        body: JSON.stringify(payload ?? {}),
      });
      // Errors travel as an ApiReply body whatever the status; the client reads it.
      return res.json();
    },
    onEvent(listener) {
      listeners.add(listener);
      if (socket === undefined) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) socket?.close();
      };
    },
    imageUrl: (imageId: number, size: ThumbnailSize) => `${origin}/images/${imageId}?size=${size}&${q}`,
    compositeUrl: (augmentedId: number) => `${origin}/images/${COMPOSITE_SEGMENT}${augmentedId}?${q}`,
    seenUrl: (generationId: number, index: number) => `${origin}/images/${SEEN_SEGMENT}${generationId}/${index}?${q}`,
  };
}
