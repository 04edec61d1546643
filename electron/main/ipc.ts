// The main-process side of IPC, without Electron: a command is answered only
// when it comes from a frame of the app's own origin, and its payload is
// validated by `dispatchToReply` like every other transport.
import { dispatchToReply, type ApiHandlers, type ApiReply } from '../../shared/api';
import { isTrustedOrigin } from './security';

/** One IPC command. `senderUrl` is the URL of the sending frame (event.senderFrame.url). */
export async function answerIpc(
  handlers: ApiHandlers,
  trustedOrigins: readonly string[],
  senderUrl: string | undefined,
  channel: unknown,
  payload: unknown,
): Promise<ApiReply> {
  if (!isTrustedOrigin(senderUrl, trustedOrigins)) {
    return {
      ok: false,
      error: {
        kind: 'bad-input',
        message: `IPC refused: sender ${JSON.stringify(senderUrl ?? '(no frame)')} is not the app`,
      },
    };
  }
  return dispatchToReply(handlers, channel, payload);
}
