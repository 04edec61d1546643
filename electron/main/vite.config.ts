// Vite build of the Electron main process (used by forge.config.ts). ESM output
// named main.js to match package.json "main"; native addons stay external.
import { defineConfig } from 'vite';
import { NATIVE_MODULES } from '../../build/native-modules';

export default defineConfig({
  build: {
    lib: { entry: 'electron/main/main.ts', formats: ['es'], fileName: () => 'main.js' },
    rollupOptions: { external: [...NATIVE_MODULES, /^node:/, 'electron'] },
    target: 'node22',
  },
});
