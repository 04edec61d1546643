// Constants Electron Forge's Vite plugin defines in the main bundle: the dev
// server URL under `electron-forge start`, undefined in a packaged app.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string;
