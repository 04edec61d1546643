// Lint: TypeScript rules plus the layering of the architecture (VS Code's
// `code-layering` idea): each folder may import only the layers below it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: patterns.map((group) => ({ group: [group], message })) }],
});

const NO_ELECTRON = ['electron', 'electron/*'];
const NO_RENDERER = ['**/renderer/**'];
const NO_UPPER_LAYERS = ['**/electron/main/**', '**/electron/preload/**', '**/electron/server/**', '**/electron/cli/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'out/**', 'dist/**', '.vite/**', 'test-results/**', 'renderer/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'max-lines': ['error', { max: 600, skipBlankLines: true, skipComments: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['electron/engine/**', 'electron/pipeline/**', 'electron/store/**', 'electron/io/**', 'electron/jobs/**'],
    rules: restrict([...NO_ELECTRON, ...NO_RENDERER, ...NO_UPPER_LAYERS], 'engine, pipeline, store, io and jobs run in plain Node: no electron, renderer or transport imports'),
  },
  {
    files: ['electron/engine/**'],
    rules: restrict(
      [...NO_ELECTRON, ...NO_RENDERER, ...NO_UPPER_LAYERS, '**/electron/store/**', '**/electron/jobs/**', '**/electron/pipeline/**', 'better-sqlite3'],
      'the engine knows nothing of SQLite, jobs, the pipeline, IPC or React',
    ),
  },
  {
    files: ['electron/service/**'],
    rules: restrict([...NO_ELECTRON, ...NO_RENDERER, ...NO_UPPER_LAYERS], 'the service implements the API for every transport: no electron, renderer or transport imports'),
  },
  {
    files: ['shared/**'],
    rules: restrict([...NO_ELECTRON, ...NO_RENDERER, '**/electron/**', 'node:*'], 'shared/ is the contract: plain TypeScript and zod only'),
  },
  {
    files: ['renderer/**'],
    rules: restrict(['**/electron/**', 'electron', 'node:*', 'better-sqlite3', 'onnxruntime-node', 'sharp'], 'the renderer imports only shared/ and browser libraries'),
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
