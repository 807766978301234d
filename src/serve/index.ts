/** `motecache/serve`: the cache as a pull-through registry mirror (see docs/serve.md). */
export { createMirror, type Mirror } from './mirror.js';
export { startMirrorServer, type MirrorServer, type MirrorServerOptions } from './server.js';
export { loadServeConfig, type ServeConfig } from './config.js';
export { SpecError, SPEC_CODES, type SpecCode } from './errors.js';
export type { UpstreamSpec } from './upstream.js';
export { DEFAULT_LISTEN, DEFAULT_TAG_MAX_AGE_MS, SHUTDOWN_DEADLINE_MS, type MirrorOptions } from './options.js';
export { ServeMetrics } from './metrics.js';
