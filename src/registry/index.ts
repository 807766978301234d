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
  RegistryMirror,
  RegistryMirrors,
  MirrorsOption,
} from './types.js';
export { MirrorTable } from './mirrors.js';
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
export {
  FileCredentialSource,
  StaticCredentialSource,
  HELPER_ANSWER_TTL_MS,
  type FoundCredential,
} from './auth/credential-sources.js';
export { authFileCandidates, primaryAuthFile, loginTarget, type AuthFileLookup, type LoginTarget } from './auth/auth-paths.js';
export {
  RegistryCredential,
  DOCKER_HUB_REGISTRY,
  normalizeRegistryHost,
  parseAuthKey,
  parseAuthFile,
  parseAuthConfig,
  lookupCredential,
  type AuthKey,
  type AuthFileContents,
  type AuthConfig,
  type AuthFileHelpers,
} from './auth/auth-file.js';
export {
  CredentialHelperError,
  CredentialHelperNotFoundError,
  credentialHelperGet,
  credentialHelperStore,
  credentialHelperErase,
  CREDENTIAL_HELPER_TIMEOUT_MS,
  CREDENTIAL_HELPER_MAX_OUTPUT_BYTES,
  type CredentialHelperOptions,
  type CredentialHelperFailure,
} from './auth/credential-helper.js';
export { parseLoginKey, type LoginKey } from './auth/auth-file-edit.js';
export {
  login,
  logout,
  logoutAll,
  findLogin,
  checkCredentials,
  NotLoggedInError,
  type LoginOptions,
  type LoginResult,
  type LogoutResult,
} from './auth/login.js';
export { apiHost, isLoopbackHost, transportFor, DOCKER_HUB_API_HOST, type TransportDecision } from './transport/hosts.js';
export { MIN_TRANSFER_RATE_DEFAULTS } from './options.js';
export { RegistryMoteCache, type RegistryMoteCacheOptions, type TransferEvent } from './registry-cache.js';
