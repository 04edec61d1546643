// Names of the two Electron IPC channels: one for every command (the API
// channel name travels inside), one for events pushed to the window. Shared by
// main and preload so neither repeats the literals.
export const IPC_INVOKE = 'mia-dpo:invoke';
export const IPC_EVENT = 'mia-dpo:event';
