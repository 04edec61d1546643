// The service layer's public face: `createService` and the types transports use.
export { createService } from './service';
export { JOB_KINDS } from './job-kinds';
export type { Service, ServiceOptions, Thumbnail } from './types';
