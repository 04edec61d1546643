// Vite build of the React UI. Output goes to renderer/dist, which both the
// local web server and the Electron app:// protocol serve. Relative asset
// paths ('./') make the same build work under either origin.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// import.meta.dirname rather than node:path: the renderer folder may not import node modules.
const root = import.meta.dirname;

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: `${root}/dist`,
    emptyOutDir: true,
    target: 'es2022',
    // No source maps in the shipped app: smaller, and nothing to relax in the CSP.
    sourcemap: false,
    // One bundle read from disk (app:// or 127.0.0.1), never over a network: splitting it would only add requests.
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      // zod places /*#__PURE__*/ comments where Rollup cannot use them; harmless, and noisy.
      onwarn(warning, warn) {
        if (warning.code !== 'INVALID_ANNOTATION') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});
