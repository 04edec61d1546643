// The calling side of the contract, used by the renderer (over IPC or HTTP)
// and by tests. The transport only moves data; the client validates requests
// before sending, replies on return, and turns wire errors back into AppError.
import { AppError, appErrorFromJson } from '../errors';
import { COMMANDS, type Channel, type RequestIn, type Response } from './commands';
import { ApiReply, describeIssues, parseRequest } from './dispatch';
import type { ThumbnailSize } from './domain';
import { ApiEvent, type EventListener } from './events';

export interface ApiTransport {
  /** Sends one command; resolves with the `ApiReply` envelope ({ok, value} | {ok, error}). */
  invoke(channel: Channel, payload: unknown): Promise<unknown>;
  /** Subscribes to raw events; returns the unsubscribe function. */
  onEvent(listener: (event: unknown) => void): () => void;
  /** URL of the cached thumbnail of a project image (custom protocol or HTTP route). */
  imageUrl(imageId: number, size: ThumbnailSize): string;
  /** URL of the grid / pic-in-pic composite of an augmented sample (a pair's `{ kind: 'composite' }` image). */
  compositeUrl(augmentedId: number): string;
  /** URL of image `index` of a perturbed generation as its model saw it (a `{ kind: 'seen' }` image of pipeline.pairs.get). */
  seenUrl(generationId: number, index: number): string;
}

export interface ApiClient {
  invoke<C extends Channel>(channel: C, request: RequestIn<C>): Promise<Response<C>>;
  /** Listener receives only events that match the contract; malformed ones are dropped. */
  onEvent(listener: EventListener): () => void;
  imageUrl(imageId: number, size: ThumbnailSize): string;
  compositeUrl(augmentedId: number): string;
  seenUrl(generationId: number, index: number): string;
}

export function createApiClient(transport: ApiTransport): ApiClient {
  return {
    async invoke<C extends Channel>(channel: C, request: RequestIn<C>): Promise<Response<C>> {
      const payload = parseRequest(channel, request);
      let raw: unknown;
      try {
        raw = await transport.invoke(channel, payload);
      } catch (e) {
        throw new AppError(
          'runtime',
          `${channel}: the connection to the engine failed: ${e instanceof Error ? e.message : String(e)}`,
          {
            subject: channel,
            cause: e,
          },
        );
      }
      const reply = ApiReply.safeParse(raw);
      if (!reply.success)
        throw new AppError('internal', `${channel}: malformed reply: ${describeIssues(reply.error)}`, {
          subject: channel,
        });
      if (!reply.data.ok) throw appErrorFromJson(reply.data.error);
      const value = COMMANDS[channel].response.safeParse(reply.data.value);
      if (!value.success)
        throw new AppError('internal', `${channel}: malformed response: ${describeIssues(value.error)}`, {
          subject: channel,
        });
      return value.data as Response<C>;
    },
    onEvent(listener: EventListener): () => void {
      return transport.onEvent((raw) => {
        const event = ApiEvent.safeParse(raw);
        if (event.success) listener(event.data);
      });
    },
    imageUrl: (imageId, size) => transport.imageUrl(imageId, size),
    compositeUrl: (augmentedId) => transport.compositeUrl(augmentedId),
    seenUrl: (generationId, index) => transport.seenUrl(generationId, index),
  };
}
