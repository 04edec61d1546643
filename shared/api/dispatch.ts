// The receiving side of the contract: `ApiHandlers` (one async function per
// command) is implemented once (electron/service) and every transport (IPC,
// HTTP, CLI) calls it through `dispatch`, which validates channel and payload.
import { z } from 'zod';
import { AppError, toAppError } from '../errors';
import { COMMANDS, isChannel, type Channel, type Request, type Response } from './commands';
import { Job, WireError, type JobRecord } from './domain';

export type ApiHandlers = { [C in Channel]: (request: Request<C>) => Promise<Response<C>> };

/** What a transport carries back for one command: the value, or the error as data. */
export const ApiReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: WireError }),
]);
export type ApiReply = z.infer<typeof ApiReply>;

/** A zod failure as one readable line naming the fields, e.g. "source.file: expected string". */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}

/** Validates `rawPayload` against the channel's request schema: AppError 'bad-input' otherwise. */
export function parseRequest<C extends Channel>(channel: C, rawPayload: unknown): Request<C> {
  const parsed = COMMANDS[channel].request.safeParse(rawPayload ?? {});
  if (!parsed.success) {
    throw new AppError('bad-input', `invalid request for ${channel}: ${describeIssues(parsed.error)}`, {
      subject: channel,
    });
  }
  return parsed.data as Request<C>;
}

/** Runs one command from untrusted input. Unknown channel or malformed payload: AppError 'bad-input'. */
export async function dispatch(handlers: ApiHandlers, channel: unknown, rawPayload: unknown): Promise<unknown> {
  if (!isChannel(channel)) {
    // Never String(channel): an object whose toString is not a function throws there.
    const name = typeof channel === 'string' ? channel : `(${typeof channel})`;
    throw new AppError('bad-input', `unknown command ${JSON.stringify(channel) ?? name}`, { subject: name });
  }
  const request = parseRequest(channel, rawPayload);
  const handler = handlers[channel] as (r: typeof request) => Promise<unknown>;
  return handler(request);
}

/** `dispatch` that never throws: the form IPC and HTTP send back. */
export async function dispatchToReply(handlers: ApiHandlers, channel: unknown, rawPayload: unknown): Promise<ApiReply> {
  try {
    return { ok: true, value: await dispatch(handlers, channel, rawPayload) };
  } catch (e) {
    return { ok: false, error: toAppError(e).toJSON() };
  }
}

/** Narrows a runner's job to the API's `Job`, its result checked against its kind: AppError 'internal' naming the job otherwise. */
export function parseJob(record: JobRecord): Job {
  const parsed = Job.safeParse(record);
  if (!parsed.success) {
    throw new AppError(
      'internal',
      `job ${record.id} (${record.kind}) does not match the API's job schema: ${describeIssues(parsed.error)}`,
      {
        subject: `job ${record.id}`,
      },
    );
  }
  return parsed.data;
}
