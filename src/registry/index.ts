/** The registry layer: an OCI distribution client, credentials, and a registry-backed (read-only) MoteCache. */
export * from './types.js';
export * from './errors.js';
export {
  RegistryClient,
  MAX_MANIFEST_BYTES,
  parseNextLink,
  type TagsOptions,
  type BlobRangeOptions,
  type PushBlobOptions,
  type PushBlobResult,
  type PingResult,
} from './client.js';
export {
  FileCredentialSource,
  StaticCredentialSource,
  RegistryCredential,
  DOCKER_HUB_REGISTRY,
  normalizeRegistryHost,
  parseAuthKey,
  parseAuthFile,
  lookupCredential,
  authFileCandidates,
  type AuthKey,
  type AuthFileContents,
  type AuthFileLookup,
} from './credentials.js';
export { parseWWWAuthenticate, repositoryScope, parseTokenResponse, tokenMarginMs, type Challenge, type TokenResponse } from './auth.js';
export { apiHost, isLoopbackHost, transportFor, DOCKER_HUB_API_HOST, type TransportDecision } from './hosts.js';
export { backoffDelay, parseRetryAfter, decideRetry, isRetryableStatus, isRetryableError, resolveRetryOptions, type ResolvedRetryOptions, type RetryDecision } from './retry.js';
export { HostBucket, RateLimiter, resolveRateLimit, CUT_INTERVAL_MS, RECOVERY_INTERVAL_MS, RECOVERY_FACTOR, type ResolvedRateLimit } from './limiter.js';
export { RegistryMoteCache, type RegistryMoteCacheOptions, type TransferEvent } from './registry-cache.js';
