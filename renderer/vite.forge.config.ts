// The renderer build as Electron Forge runs it: the same config as
// vite.config.ts, written to .vite/renderer/main_window (the folder Forge's
// packager keeps). The path is absolute because Vite resolves outDir from `root`.
import { defineConfig } from 'vite';
import base from './vite.config';

export default defineConfig({
  ...base,
  build: { ...base.build, outDir: `${import.meta.dirname}/../.vite/renderer/main_window` },
});
