import { ErrorCategory, MoteError } from '../errors.js';

/** What a registry error says beyond its message. `category` is set by the subclasses (default `protocol`). */
interface RegistryErrorDetails {
  registry: string;
  status?: number | undefined;
  registryCode?: string | undefined;
  cause?: unknown;
  category?: ErrorCategory | undefined;
}

/**
 * Errors from talking to a registry. `code` is stable (switch on it); `registryCode` is the first error code
 * the registry put in its JSON body (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `NAME_UNKNOWN`, `DENIED`,
 * `UNAUTHORIZED`, `TOOMANYREQUESTS`, ...) when it gave one. Messages never contain credentials or tokens.
 * A bare `RegistryError` (`ERR_REGISTRY`, a status nothing more specific fits) is a `protocol` failure.
 */
export class RegistryError extends MoteError {
  /** HTTP status of the last response, if there was one. */
  readonly status: number | undefined;
  /** The registry's own error code from the response body, if any. */
  readonly registryCode: string | undefined;
  /** `host[:port]` of the registry. */
  readonly registry: string;
  constructor(code: string, message: string, details: RegistryErrorDetails) {
    super(code, message, {
      ...(details.cause !== undefined ? { cause: details.cause } : {}),
      category: details.category ?? ErrorCategory.Protocol,
    });
    this.registry = details.registry;
    this.status = details.status;
    this.registryCode = details.registryCode;
  }
}

type Details = Omit<RegistryErrorDetails, 'category'>;

/** 401/403: missing or wrong credentials, or access denied (`UNAUTHORIZED`, `DENIED`). */
export class RegistryAuthError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_AUTH', message, { ...details, category: ErrorCategory.Denied });
  }
}

/** 404: unknown repository, tag, manifest or blob (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`). */
export class RegistryNotFoundError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_NOT_FOUND', message, { ...details, category: ErrorCategory.NotFound });
  }
}

/** 429 that outlasted every retry (`TOOMANYREQUESTS`). */
export class RegistryRateLimitError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_RATE_LIMITED', message, { ...details, category: ErrorCategory.Unavailable });
  }
}

/** 5xx, timeouts or connection failures that outlasted every retry. */
export class RegistryUnavailableError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_UNAVAILABLE', message, { ...details, category: ErrorCategory.Unavailable });
  }
}

/**
 * A response body arrived slower than the client's minimum transfer rate (`minTransferRate`): fewer than `bytes`
 * in `windowMs` while it was being read. `unavailable`: the registry (or the network to it) cannot serve us now.
 */
export class RegistryTooSlowError extends RegistryError {
  /** The minimum: bytes per window. */
  readonly bytes: number;
  readonly windowMs: number;
  /** Bytes that arrived in the window that fell short. */
  readonly received: number;
  constructor(what: string, details: { registry: string; status?: number | undefined; bytes: number; windowMs: number; received: number }) {
    super(
      'ERR_REGISTRY_TOO_SLOW',
      `${what}: too slow: ${details.received} bytes arrived in ${details.windowMs / 1000} s, under the minimum of ${details.bytes} (minTransferRate)`,
      { registry: details.registry, status: details.status, category: ErrorCategory.Unavailable },
    );
    this.bytes = details.bytes;
    this.windowMs = details.windowMs;
    this.received = details.received;
  }
}

/** The registry answered something the protocol does not allow (bad headers, wrong length, unparsable JSON). */
export class RegistryProtocolError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_PROTOCOL', message, { ...details, category: ErrorCategory.Protocol });
  }
}

/** Plain HTTP or unverified TLS was needed for a host the user did not mark insecure; or TLS verification failed. */
export class RegistryInsecureError extends RegistryError {
  constructor(message: string, details: Details) {
    super('ERR_REGISTRY_INSECURE', message, { ...details, category: ErrorCategory.Denied });
  }
}

/**
 * A blob range starting past the blob's end, in whichever form it was found out: a 416, a 200 to a ranged request
 * with a shorter Content-Length, or the HEAD of a zero-length read. `code` is `ERR_REGISTRY` as before; the class
 * lets callers (RegistryMoteCache) tell it from other registry errors without reading messages.
 */
export class RegistryRangeError extends RegistryError {
  readonly offset: number;
  readonly size: number;
  constructor(message: string, details: { registry: string; status?: number | undefined; offset: number; size: number }) {
    super('ERR_REGISTRY', message, { registry: details.registry, status: details.status, category: ErrorCategory.Protocol });
    this.offset = details.offset;
    this.size = details.size;
  }
}

/** An operation this cache or registry does not support (e.g. writing to a `RegistryMoteCache`). */
export class UnsupportedOperationError extends MoteError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message, { category: ErrorCategory.Unsupported });
  }
}

/** An auth file or one of its keys is unusable. The message names the file and key, never the secret. */
export class InvalidCredentialsError extends MoteError {
  readonly file: string | undefined;
  readonly key: string | undefined;
  constructor(message: string, details: { file?: string | undefined; key?: string | undefined } = {}) {
    const where = [details.file && `in ${details.file}`, details.key !== undefined && `key ${JSON.stringify(details.key)}`]
      .filter(Boolean)
      .join(', ');
    super('ERR_INVALID_CREDENTIALS', where ? `${message} (${where})` : message, { category: ErrorCategory.Invalid });
    this.file = details.file;
    this.key = details.key;
  }
}
