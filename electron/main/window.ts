// The app window and the rules every web contents obeys: secure webPreferences,
// navigation only within the app's origin, no new windows, no webviews, every
// permission request refused. Decisions live in ./security (unit-tested); the
// window's options are unit-tested with Electron mocked (test/unit/main/window.test.ts).
import { BrowserWindow, type Session, type WebContents } from 'electron';
import { mayGrantPermission, mayNavigate } from './security';

/** Applied to every web contents the app ever creates (app.on('web-contents-created')). */
export function lockDownContents(contents: WebContents, trustedOrigins: readonly string[]): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const guard = (event: { preventDefault(): void }, url: string) => {
    if (!mayNavigate(url, trustedOrigins)) event.preventDefault();
  };
  contents.on('will-navigate', guard);
  contents.on('will-redirect', guard);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

export function lockDownSession(session: Session): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(mayGrantPermission(permission)));
  session.setPermissionCheckHandler((_contents, permission) => mayGrantPermission(permission));
}

export function createMainWindow(preloadPath: string, entryUrl: string): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'MIA-DPO Studio',
    // Written out here, not built elsewhere: Electronegativity (npm run lint:electron) checks this literal.
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // A middle click opens no window (Electronegativity AUXCLICK_JS_CHECK); window.open is denied anyway.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(entryUrl);
  return win;
}
