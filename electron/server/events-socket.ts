// The event stream of the local web mode: a WebSocket at /events that pushes
// every service event as JSON. Upgrades are checked like any other request.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { EventSource } from '../../shared/api';
import { statusOfKind } from '../service/http/status';
import type { Refusal } from './guard';

export const EVENTS_PATH = '/events';

const REASON_PHRASE: Readonly<Record<number, string>> = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' };

export class EventsSocket {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  private readonly unsubscribe: () => void;

  constructor(
    events: EventSource,
    private readonly check: (req: IncomingMessage, url: URL) => Refusal | undefined,
  ) {
    this.unsubscribe = events.onEvent((event) => this.broadcast(JSON.stringify(event)));
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refusal = this.check(req, url);
    const status = refusal !== undefined ? statusOfKind(refusal.kind) : url.pathname === EVENTS_PATH ? undefined : 404;
    if (status !== undefined) {
      socket.end(`HTTP/1.1 ${status} ${REASON_PHRASE[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    // The stream is one-way: the socket joins wss.clients and whatever the page sends is dropped.
    this.wss.handleUpgrade(req, socket, head, () => undefined);
  }

  private broadcast(text: string): void {
    for (const client of this.wss.clients) {
      if (client.readyState === client.OPEN) client.send(text);
    }
  }

  close(): void {
    this.unsubscribe();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}
