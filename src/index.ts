/**
 * motecache: a content-addressed, verified, size-bounded on-disk blob cache for OCI tooling.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './digest/index.js';
export * from './store/index.js';
export * from './descriptor-cache/index.js';
export * from './reference/index.js';
export * from './blobinfo/index.js';
export * from './registry/index.js';
export * from './pull/index.js';
export * from './oci/index.js';
