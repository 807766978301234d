/**
 * The registry layer: an OCI distribution client (`RegistryClient`), credentials, and a repository as a mote source
 * (`RegistryMoteCache`, the read role a `PullThroughCache` reads through).
 */
export type {
  RepositoryName,
  RequestOptions,
  FetchedManifest,
  BlobResponse,
  RegistryEvent,
  RetryOptions,
  RateLimitOptions,
  MinTransferRate,
  RegistryClientOptions,
  Credential,
  CredentialSource,
} from './types.js';
export {
  RegistryError,
  RegistryAuthError,
  RegistryNotFoundError,
  RegistryRateLimitError,
  RegistryUnavailableError,
  RegistryTooSlowError,
  RegistryProtocolError,
  RegistryInsecureError,
  RegistryRangeError,
  UnsupportedOperationError,
  InvalidCredentialsError,
} from './errors.js';
export { RegistryClient, type TagsOptions, type BlobRangeOptions, type PushBlobOptions, type PushBlobResult, type PingResult } from './client.js';
export { FileCredentialSource, StaticCredentialSource, authFileCandidates, type AuthFileLookup } from './auth/credential-sources.js';
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
export { apiHost, isLoopbackHost, transportFor, DOCKER_HUB_API_HOST, type TransportDecision } from './transport/hosts.js';
export { MIN_TRANSFER_RATE_DEFAULTS } from './options.js';
export { RegistryMoteCache, type RegistryMoteCacheOptions, type TransferEvent } from './registry-cache.js';
