import { defineConfig } from 'vitest/config';

// Native addons (better-sqlite3, onnxruntime-node) are not safe in worker
// threads shared between test files, so every file runs in its own process.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
