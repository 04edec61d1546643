// The layering of the architecture (docs/architecture.md), checked on RESOLVED
// import paths: `../store/store` and `../../electron/store/store` are the same
// file here, where an import-string pattern would see two different strings.
// Run by `npm run lint` (after ESLint, which keeps the code rules); type-only
// imports count, since they couple layers as much as value imports do.
// Inside electron/: transports (main, preload, server, cli) -> service -> db
// (the composition root of the store's tables) -> pipeline, io -> jobs, store,
// engine -> common; shared/ is the contract everyone may import.

/** A path regex for the electron/ folders named. */
const under = (...folders) => `^electron/(${folders.join('|')})/`;
const TRANSPORTS = ['main', 'preload', 'server', 'cli'];
/** Build configuration that sits beside the code it builds; it may import build/. */
const BUILD_CONFIG = '/vite\\.(forge\\.)?config\\.ts$';

/** Each transport is an entry of its own: none imports another. */
const transportRules = TRANSPORTS.map((t) => ({
  name: `transport-${t}-imports-no-transport`,
  comment: `${t} is a transport (Electron main, preload, the web server, the CLI): it talks to the service, not to another transport`,
  severity: 'error',
  // The CLI's `serve` command exists to start the web transport: its one allowed edge is the server's entry.
  from: { path: under(t), pathNot: t === 'cli' ? '^electron/cli/commands/serve\\.ts$' : undefined },
  to: { path: under(...TRANSPORTS.filter((o) => o !== t)) },
}));

/** Names of native or Node-only packages the renderer must never bundle. */
const NODE_ONLY_PACKAGES = ['electron', 'better-sqlite3', 'onnxruntime-node', 'sharp'];

module.exports = {
  forbidden: [
    {
      name: 'engine-is-a-library',
      comment:
        'the engine knows nothing of SQLite, jobs, the pipeline, the service, transports or the composition root',
      severity: 'error',
      from: { path: under('engine') },
      to: { path: under('store', 'jobs', 'pipeline', 'io', 'service', 'db', ...TRANSPORTS) },
    },
    {
      name: 'store-is-generic',
      comment:
        'the store is the worker, migrations runner and typed call: the tables of other layers reach it through electron/db',
      severity: 'error',
      from: { path: under('store') },
      to: { path: under('pipeline', 'jobs', 'io', 'service', 'db', ...TRANSPORTS) },
    },
    {
      name: 'jobs-runner-is-generic',
      comment: 'the job runner knows job kinds only by their interface; kinds live with the layer that owns the work',
      severity: 'error',
      from: { path: under('jobs') },
      to: { path: under('pipeline', 'io', 'service', 'db', ...TRANSPORTS) },
    },
    {
      name: 'pipeline-and-io-below-service',
      comment:
        'pipeline and io are used by the service; they never reach up to it, the composition root or a transport',
      severity: 'error',
      from: { path: under('pipeline', 'io') },
      to: { path: under('service', 'db', ...TRANSPORTS) },
    },
    {
      name: 'db-below-service',
      comment: 'electron/db assembles the store tables of the layers below; the service and transports are above it',
      severity: 'error',
      from: { path: under('db') },
      to: { path: under('service', ...TRANSPORTS) },
    },
    {
      name: 'service-imports-no-transport',
      comment: 'the service implements the API for every transport, so it imports none of them',
      severity: 'error',
      from: { path: under('service') },
      to: { path: under(...TRANSPORTS) },
    },
    {
      name: 'common-is-the-bottom',
      comment: 'electron/common holds helpers every layer may use; it imports no layer',
      severity: 'error',
      from: { path: under('common') },
      to: { path: '^electron/', pathNot: under('common') },
    },
    ...transportRules,
    {
      name: 'electron-package-only-in-main-and-preload',
      comment:
        'everything else runs in plain Node (tests, the CLI, the web mode), so only main and preload may import electron',
      severity: 'error',
      from: { path: '^electron/', pathNot: [under('main', 'preload'), BUILD_CONFIG] },
      to: { path: '^node_modules/electron/' },
    },
    {
      name: 'shared-is-the-contract',
      comment: 'shared/ is plain TypeScript and zod: nothing from electron/, renderer/, build/ or Node',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(electron|renderer|build)/' },
    },
    {
      name: 'shared-imports-no-node-builtin',
      comment: 'shared/ also runs in the renderer: no Node built-ins',
      severity: 'error',
      from: { path: '^shared/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-imports-renderer-shared-and-browser-libs',
      comment: 'the renderer runs in a sandboxed page: it reaches the engine only through the shared API',
      severity: 'error',
      from: { path: '^renderer/', pathNot: BUILD_CONFIG },
      to: { pathNot: ['^renderer/', '^shared/', '^node_modules/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'renderer-imports-no-node',
      comment: 'no Node built-ins or native packages in the renderer',
      severity: 'error',
      from: { path: '^renderer/', pathNot: BUILD_CONFIG },
      to: { path: `^node_modules/(${NODE_ONLY_PACKAGES.join('|')})/` },
    },
    {
      name: 'renderer-imports-no-node-builtin',
      comment: 'no Node built-ins in the renderer',
      severity: 'error',
      from: { path: '^renderer/', pathNot: BUILD_CONFIG },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'only-the-renderer-imports-the-renderer',
      comment: 'the renderer is a separate bundle: nothing outside it imports it (its tests may)',
      severity: 'error',
      from: { path: '^(electron|shared|build)/' },
      to: { path: '^renderer/' },
    },
    {
      name: 'app-code-imports-no-build-config',
      comment:
        'build/ configures packaging and may import app code, never the reverse (build configs beside the code excepted)',
      severity: 'error',
      from: { path: '^(electron|shared)/', pathNot: BUILD_CONFIG },
      to: { path: '^build/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // node_modules may be a symlink (worktrees share one): keep its path, so package rules match.
    preserveSymlinks: true,
    exclude: { path: '^(out|dist|\\.vite|test-results|renderer/dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
