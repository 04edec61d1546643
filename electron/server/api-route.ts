// POST /api/<channel>: reads a bounded JSON body and runs the command through
// `dispatchToReply`, so the web mode validates exactly like IPC and the CLI.
// The body is always an ApiReply; the status code mirrors the error kind.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatchToReply, type ApiHandlers, type ApiReply } from '../../shared/api';
import { statusOfKind } from '../service/http/status';
import { sendJson } from './respond';

export const API_PREFIX = '/api/';
/** Commands carry paths and filters, never bulk data. */
const MAX_BODY_BYTES = 1 << 20;
/** How long the rest of an oversized body is drained before the 413 goes out anyway. */
const OVERSIZE_DRAIN_MS = 2000;

function badInput(message: string): ApiReply {
  return { ok: false, error: { kind: 'bad-input', message } };
}

/**
 * Resolves undefined for a body over the limit, but only once the client has sent it all
 * (the excess is read and dropped): replying and closing mid-upload reset the connection
 * before the client could read the 413. The drain is bounded in time.
 */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      const wasOver = size > MAX_BODY_BYTES;
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (!wasOver) {
        chunks.length = 0;
        setTimeout(() => resolve(undefined), OVERSIZE_DRAIN_MS).unref();
      }
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function replyStatus(reply: ApiReply): number {
  return reply.ok ? 200 : statusOfKind(reply.error.kind);
}

export async function handleApi(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  handlers: ApiHandlers,
): Promise<void> {
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    sendJson(res, 405, badInput(`${pathname}: use POST`));
    return;
  }
  // A JSON content type keeps the API out of reach of HTML form posts.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    sendJson(res, 415, badInput(`${pathname}: the body must be application/json`));
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    res.setHeader('Connection', 'close');
    sendJson(res, 413, badInput(`${pathname}: request body over ${MAX_BODY_BYTES} bytes`));
    return;
  }
  let payload: unknown;
  try {
    payload = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (e) {
    sendJson(
      res,
      400,
      badInput(`${pathname}: the body is not valid JSON (${e instanceof Error ? e.message : String(e)})`),
    );
    return;
  }
  let channel: string;
  try {
    channel = decodeURIComponent(pathname.slice(API_PREFIX.length));
  } catch {
    sendJson(res, 400, badInput(`${pathname}: the command name is not valid %-encoding`));
    return;
  }
  const reply = await dispatchToReply(handlers, channel, payload);
  sendJson(res, replyStatus(reply), reply);
}
