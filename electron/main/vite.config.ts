// Vite build of the Electron main process (used by forge.config.ts). ESM output:
// main.js (package.json "main") plus one x.worker.js per worker thread module;
// native addons stay external.
import { defineConfig } from 'vite';
import { NATIVE_MODULES } from '../../build/native-modules';
import { workerEntries, workerUrlPlugin } from '../../build/worker-entries';

const root = `${import.meta.dirname}/../..`;

export default defineConfig({
  plugins: [workerUrlPlugin()],
  build: {
    lib: {
      entry: { main: 'electron/main/main.ts', ...workerEntries(root) },
      formats: ['es'],
      fileName: (_format, entryName) => `${entryName}.js`,
    },
    rollupOptions: { external: [...NATIVE_MODULES, /^node:/, 'electron'] },
    target: 'node22',
  },
});
