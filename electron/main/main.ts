// Electron main process: single instance, the app:// protocol, the locked-down
// window, and IPC wired to the same service the CLI and the web mode use.
// Kept thin: every decision is in a plain module with unit tests.
import { app, ipcMain, protocol, session, webContents, type WebContents } from 'electron';
import path from 'node:path';
import { createService } from '../service';
import { createAppProtocolHandler } from './app-protocol';
import { answerIpc } from './ipc';
import { APP_SCHEME, IPC_EVENT, IPC_INVOKE } from '../common/app-channels';
import { APP_ENTRY_URL, APP_ORIGIN, contentSecurityPolicy, originOf } from './security';
import { createMainWindow, lockDownContents, lockDownSession } from './window';

const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const devOrigin = devServerUrl === undefined ? undefined : originOf(devServerUrl);
/** Origins whose frames may call the API and be navigated to. */
const trustedOrigins = devOrigin === undefined ? [APP_ORIGIN] : [APP_ORIGIN, devOrigin];
// main.js sits in .vite/build; Forge writes the renderer next to it.
const rendererDir = path.join(
  import.meta.dirname,
  '..',
  'renderer',
  typeof MAIN_WINDOW_VITE_NAME === 'string' ? MAIN_WINDOW_VITE_NAME : 'main_window',
);
const preloadPath = path.join(import.meta.dirname, 'preload.cjs');

// Standard + secure: app:// gets a real origin, relative URLs and fetch, like https.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) app.quit();

app.on('web-contents-created', (_event, contents: WebContents) => lockDownContents(contents, trustedOrigins));
app.on('window-all-closed', () => app.quit());

async function start(): Promise<void> {
  await app.whenReady();
  lockDownSession(session.defaultSession);
  const service = await createService({ configDir: app.getPath('userData') });
  const csp = contentSecurityPolicy(devOrigin);
  const images = {
    thumbnails: (id: number, size: number) => service.getThumbnail(id, size),
    composites: (id: number) => service.getComposite(id),
    seen: (generationId: number, index: number) => service.getSeen(generationId, index),
  };
  protocol.handle(APP_SCHEME, createAppProtocolHandler({ rendererDir, images, csp }));
  if (devServerUrl !== undefined) {
    session.defaultSession.webRequest.onHeadersReceived((details, callback) =>
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } }),
    );
  }

  ipcMain.handle(IPC_INVOKE, (event, channel: unknown, payload: unknown) =>
    answerIpc(service.handlers, trustedOrigins, event.senderFrame?.url, channel, payload),
  );
  service.onEvent((e) => {
    for (const contents of webContents.getAllWebContents()) {
      if (!contents.isDestroyed() && trustedOrigins.includes(originOf(contents.getURL()) ?? ''))
        contents.send(IPC_EVENT, e);
    }
  });
  app.on('will-quit', () => void service.close());

  createMainWindow(preloadPath, devServerUrl ?? APP_ENTRY_URL);
}

start().catch((e: unknown) => {
  console.error('MIA-DPO Studio could not start:', e);
  app.exit(1);
});
