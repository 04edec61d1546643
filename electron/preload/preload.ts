// The preload: exposes exactly the typed API transport as `window.api` and
// nothing else (no ipcRenderer, no Node). Runs sandboxed, bundled to CommonJS.
// Validation happens in main (every payload goes through `dispatch`).
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiTransport } from '../../shared/api';
import { APP_SCHEME, IMAGES_HOST, IPC_EVENT, IPC_INVOKE } from '../common/app-channels';
import { COMPOSITE_SEGMENT, SEEN_SEGMENT } from '../../shared/pipeline/image-route';

const api: ApiTransport = {
  invoke: (channel, payload) => ipcRenderer.invoke(IPC_INVOKE, channel, payload),
  onEvent(listener) {
    // The page gets the event data only, never the IpcRendererEvent (it exposes `sender`).
    const forward = (_event: IpcRendererEvent, data: unknown) => listener(data);
    ipcRenderer.on(IPC_EVENT, forward);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT, forward);
    };
  },
  imageUrl: (imageId, size) => `${APP_SCHEME}://${IMAGES_HOST}/${Math.trunc(imageId)}?size=${Math.trunc(size)}`,
  compositeUrl: (augmentedId) => `${APP_SCHEME}://${IMAGES_HOST}/${COMPOSITE_SEGMENT}${Math.trunc(augmentedId)}`,
  seenUrl: (generationId, index) =>
    `${APP_SCHEME}://${IMAGES_HOST}/${SEEN_SEGMENT}${Math.trunc(generationId)}/${Math.trunc(index)}`,
};

contextBridge.exposeInMainWorld('api', api);
