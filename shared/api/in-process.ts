// A transport that calls the handlers in the same process, still through
// `dispatchToReply`, so the CLI and tests exercise the same validation and
// error path as IPC and HTTP.
import type { ApiTransport } from './client';
import type { ThumbnailSize } from './domain';
import { dispatchToReply, type ApiHandlers } from './dispatch';
import type { EventSource } from './events';

export function inProcessTransport(
  handlers: ApiHandlers,
  events: EventSource,
  imageUrl: (imageId: number, size: ThumbnailSize) => string = (id, size) => `image:${id}/${size}`,
): ApiTransport {
  return {
    invoke: (channel, payload) => dispatchToReply(handlers, channel, structuredClone(payload)),
    onEvent: (listener) => events.onEvent(listener),
    imageUrl,
    compositeUrl: (id) => `composite:${id}`,
    seenUrl: (id, index) => `seen:${id}/${index}`,
  };
}
