// The API contract in one import: `import { COMMANDS, createApiClient } from 'shared/api'`.
export * from './domain';
export * from './commands';
export * from './events';
export * from './dispatch';
export * from './client';
export * from './in-process';
export * from './import-counts';
export * from './model';
