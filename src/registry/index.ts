/** The registry layer: an OCI distribution client, credentials, and a registry-backed (read-only) MoteCache. */
export * from './types.js';
export * from './errors.js';
export {
  RegistryClient,
  MAX_MANIFEST_BYTES,
  type TagsOptions,
  type BlobRangeOptions,
  type PushBlobOptions,
  type PushBlobResult,
  type PingResult,
} from './client.js';
export { parseNextLink } from './transport/headers.js';
export {
  RegistryCredential,
  DOCKER_HUB_REGISTRY,
  normalizeRegistryHost,
  parseAuthKey,
  parseAuthFile,
  lookupCredential,
  type AuthKey,
  type AuthFileContents,
} from './auth/auth-file.js';
export { FileCredentialSource, StaticCredentialSource, authFileCandidates, type AuthFileLookup } from './auth/credential-sources.js';
export { parseWWWAuthenticate, type Challenge } from './auth/challenge.js';
export { repositoryScope, tokenMarginMs, type TokenResponse } from './auth/authenticator.js';
export { parseTokenResponse } from './auth/token.js';
export { apiHost, isLoopbackHost, transportFor, DOCKER_HUB_API_HOST, type TransportDecision } from './transport/hosts.js';
export { backoffDelay, parseRetryAfter, decideRetry, isRetryableStatus, isRetryableError, resolveRetryOptions, type ResolvedRetryOptions, type RetryDecision } from './transport/retry.js';
export { HostBucket, RateLimiter, resolveRateLimit, type ResolvedRateLimit } from './transport/limiter.js';
export { CUT_INTERVAL_MS, RECOVERY_INTERVAL_MS, RECOVERY_FACTOR } from './options.js';
export { RegistryMoteCache, type RegistryMoteCacheOptions, type TransferEvent } from './registry-cache.js';
