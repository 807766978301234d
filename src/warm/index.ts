/**
 * `motecache/warm`: the warmer that keeps repositories fresh in a metadata store (`Warmer`), its HTTP endpoint
 * (`startWarmServer`: /healthz, /metrics, /notify) and the webhook parser.
 */
export { Warmer, type WarmerOptions, type CycleReport } from './warmer.js';
export { startWarmServer, parseListen, type WarmServerOptions } from './server.js';
export { repositoriesFromWebhook, MAX_NOTIFY_BYTES } from './webhook.js';
export { WarmMetrics } from './metrics.js';
export { DEFAULT_POLL_MS, DEFAULT_REPO_CONCURRENCY, DEFAULT_JITTER, DEFAULT_LEASE_MS } from './options.js';
