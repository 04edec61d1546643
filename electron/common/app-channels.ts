// Names both sides of Electron's process boundary use: the two IPC channels
// (one for every command, the API channel name travelling inside; one for
// events pushed to the window) and the app:// scheme and hosts (main serves
// them, preload builds image URLs). Kept below both transports so that main
// and preload share them without importing each other.
export const IPC_INVOKE = 'mia-dpo:invoke';
export const IPC_EVENT = 'mia-dpo:event';

/** The custom scheme serving the UI and the thumbnails; never file://. */
export const APP_SCHEME = 'app';
/** Host of app:// URLs serving the built renderer. */
export const APP_HOST = 'app';
/** Host of app:// URLs serving thumbnails: app://images/<imageId>?size=N. */
export const IMAGES_HOST = 'images';
