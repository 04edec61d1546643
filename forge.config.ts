// Electron Forge: `npm start` (dev, Vite dev server for the UI) and `electron-forge
// package` (the app folder that electron-builder turns into installers, see
// build/electron-builder.yml). Main is built as ESM because package.json has
// "type": "module"; the sandboxed preload must be a CommonJS script.
import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { rm, rename } from 'node:fs/promises';
import path from 'node:path';
import { packagedFilesFilter } from './build/native-modules';

const root = import.meta.dirname;
/** Where electron-builder (`--prepackaged out`) expects the packaged app folder. */
const PREPACKAGED_DIR = path.join(root, 'out');

const config: ForgeConfig = {
  packagerConfig: {
    name: 'MIA-DPO Studio',
    executableName: 'mia-dpo-studio',
    asar: { unpack: '**/*.node' },
    ignore: packagedFilesFilter(root),
  },
  // better-sqlite3 is the one addon built against V8 (not Node-API): rebuilt for Electron's ABI
  // by scripts/electron-rebuild.mjs before start/package; this is Forge's own check of it.
  rebuildConfig: { onlyModules: ['better-sqlite3'], force: false },
  // Forge packages into dist/forge/<name>-<platform>-<arch>; the hook moves that
  // folder to out/, the fixed path the `make` script hands to electron-builder.
  outDir: 'dist/forge',
  hooks: {
    postPackage: async (_config, result) => {
      const packaged = result.outputPaths[0];
      if (packaged === undefined) return;
      await rm(PREPACKAGED_DIR, { recursive: true, force: true });
      await rename(packaged, PREPACKAGED_DIR);
    },
  },
  // Installers are made by electron-builder (build/electron-builder.yml), not Forge makers.
  makers: [],
  plugins: [
    new VitePlugin({
      build: [
        { entry: 'electron/main/main.ts', config: 'electron/main/vite.config.ts', target: 'main' },
        { entry: 'electron/preload/preload.ts', config: 'electron/preload/vite.config.ts', target: 'preload' },
      ],
      renderer: [{ name: 'main_window', config: 'renderer/vite.forge.config.ts' }],
    }),
  ],
};

export default config;
