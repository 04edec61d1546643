// The app window's options, with Electron mocked (its binary is not installed
// here): the page is isolated and sandboxed without Node, and the window shows
// once ready. Electronegativity checks the same literal statically in lint.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const made: { options: Record<string, unknown>; loaded: string[] }[] = [];

vi.mock('electron', () => ({
  BrowserWindow: class {
    private readonly record: { options: Record<string, unknown>; loaded: string[] };
    constructor(options: Record<string, unknown>) {
      this.record = { options, loaded: [] };
      made.push(this.record);
    }
    once(): void {}
    loadURL(url: string): Promise<void> {
      this.record.loaded.push(url);
      return Promise.resolve();
    }
  },
}));

const { createMainWindow } = await import('../../../electron/main/window');

describe('the main window', () => {
  beforeEach(() => {
    made.length = 0;
  });

  it('isolates and sandboxes the page without Node, webviews or insecure content', () => {
    createMainWindow('/x/preload.cjs', 'app://app/index.html');
    expect(made).toHaveLength(1);
    expect(made[0]!.loaded).toEqual(['app://app/index.html']);
    expect(made[0]!.options['show']).toBe(false);
    expect(made[0]!.options['webPreferences']).toEqual({
      preload: '/x/preload.cjs',
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
      disableBlinkFeatures: 'Auxclick',
    });
  });
});
