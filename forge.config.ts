// Electron Forge: `npm start` (dev, Vite dev server for the UI) and `electron-forge
// package` (the app folder that electron-builder turns into installers, see
// build/electron-builder.yml). Main is built as ESM because package.json has
// "type": "module"; the sandboxed preload must be a CommonJS script.
import type { ForgeConfig } from '@electron-forge/shared-types';
import { VitePlugin } from '@electron-forge/plugin-vite';
import { flipFuses } from '@electron/fuses';
import { rm, rename } from 'node:fs/promises';
import path from 'node:path';
import { securityFuses } from './build/fuses';
import { copyElectronSqliteBinding, packagedFilesFilter } from './build/native-modules';

const root = import.meta.dirname;
/** Where electron-builder (`--prepackaged out`) expects the packaged app folder. */
const PREPACKAGED_DIR = path.join(root, 'out');
const EXECUTABLE = 'mia-dpo-studio';
const PRODUCT_NAME = 'MIA-DPO Studio';

function electronBinary(dir: string, platform: string): string {
  if (platform === 'darwin' || platform === 'mas') return path.join(dir, `${PRODUCT_NAME}.app`);
  return path.join(dir, platform === 'win32' ? `${EXECUTABLE}.exe` : EXECUTABLE);
}

const config: ForgeConfig = {
  packagerConfig: {
    name: PRODUCT_NAME,
    executableName: EXECUTABLE,
    asar: { unpack: '**/*.node' },
    ignore: packagedFilesFilter(root),
  },
  // better-sqlite3 is the one addon built against V8 (not Node-API). scripts/electron-rebuild.mjs
  // builds its Electron copy aside (docs/decisions/0210); Forge's own rebuild, run by `start` on
  // the checkout itself, would overwrite the Node build that `npm test` and the CLI load, so it rebuilds nothing.
  rebuildConfig: { onlyModules: [] },
  // Forge packages into dist/forge/<name>-<platform>-<arch>; the hook moves that
  // folder to out/, the fixed path the `make` script hands to electron-builder.
  outDir: 'dist/forge',
  hooks: {
    // The packaged app keeps the Electron build of better-sqlite3, never the Node one (build/native-modules.ts).
    packageAfterPrune: async (_config, buildPath) => {
      copyElectronSqliteBinding(root, buildPath);
    },
    postPackage: async (_config, result) => {
      const packaged = result.outputPaths[0];
      if (packaged === undefined) return;
      // Fuses (build/fuses.ts) before electron-builder signs the binary: a flip after signing would break the signature.
      await flipFuses(electronBinary(packaged, result.platform), securityFuses(result.platform, result.arch));
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
