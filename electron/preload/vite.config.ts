// Vite build of the preload (used by forge.config.ts). A sandboxed preload runs
// as a classic CommonJS script, so the output is one self-contained .cjs file.
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    rollupOptions: { output: { format: 'cjs', entryFileNames: 'preload.cjs', inlineDynamicImports: true } },
  },
});
