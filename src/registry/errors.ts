import { MoteError } from '../errors.js';

/**
 * Errors from talking to a registry. `code` is stable (switch on it); `registryCode` is the first error code
 * the registry put in its JSON body (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `NAME_UNKNOWN`, `DENIED`,
 * `UNAUTHORIZED`, `TOOMANYREQUESTS`, ...) when it gave one. Messages never contain credentials or tokens.
 */
export class RegistryError extends MoteError {
  /** HTTP status of the last response, if there was one. */
  readonly status: number | undefined;
  /** The registry's own error code from the response body, if any. */
  readonly registryCode: string | undefined;
  /** `host[:port]` of the registry. */
  readonly registry: string;
  constructor(
    code: string,
    message: string,
    details: { registry: string; status?: number | undefined; registryCode?: string | undefined; cause?: unknown },
  ) {
    super(code, message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.registry = details.registry;
    this.status = details.status;
    this.registryCode = details.registryCode;
  }
}

type Details = ConstructorParameters<typeof RegistryError>[2];

/** 401/403: missing or wrong credentials, or access denied (`UNAUTHORIZED`, `DENIED`). */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_AUTH', message, details);
  }
}

/** 404: unknown repository, tag, manifest or blob (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`). */
export class RegistryNotFoundError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_NOT_FOUND', message, details);
  }
}

/** 429 that outlasted every retry (`TOOMANYREQUESTS`). */
export class RegistryRateLimitError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_RATE_LIMITED', message, details);
  }
}

/** 5xx, timeouts or connection failures that outlasted every retry. */
export class RegistryUnavailableError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_UNAVAILABLE', message, details);
  }
}

/** The registry answered something the protocol does not allow (bad headers, wrong length, unparsable JSON). */
export class RegistryProtocolError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_PROTOCOL', message, details);
  }
}

/** Plain HTTP or unverified TLS was needed for a host the user did not mark insecure; or TLS verification failed. */
export class RegistryInsecureError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_INSECURE', message, details);
  }
}

/** An operation this cache or registry does not support (e.g. writing to a `RegistryMoteCache`). */
export class UnsupportedOperationError extends MoteError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}
