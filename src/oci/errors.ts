/** Errors about OCI documents and platforms. Codes are stable; the CLI maps them to exit codes. */
import { ErrorCategory, MoteError } from '../errors.js';

/** A platform string is not `os/arch[/variant]`. */
export class InvalidPlatformError extends MoteError {
  constructor(platform: string, reason: string) {
    super('ERR_INVALID_PLATFORM', `invalid platform ${JSON.stringify(platform).slice(0, 100)}: ${reason}`, { category: ErrorCategory.Invalid });
  }
}

/** The image index has no manifest for the wanted platform. `available` lists what it has (`os/arch[/variant]`). */
export class PlatformNotFoundError extends MoteError {
  readonly platform: string;
  readonly available: readonly string[];
  constructor(platform: string, available: readonly string[]) {
    super(
      'ERR_PLATFORM_NOT_FOUND',
      `no manifest for platform ${platform} in the image index; available: ${available.length > 0 ? available.join(', ') : 'none'}`,
      { category: ErrorCategory.NotFound },
    );
    this.platform = platform;
    this.available = available;
  }
}

/** A manifest or index is not a document this code can use (unparsable JSON, wrong schema, unknown type). */
export class InvalidManifestError extends MoteError {
  readonly digest: string | undefined;
  constructor(reason: string, digest?: string) {
    super('ERR_INVALID_MANIFEST', `invalid manifest${digest ? ` ${digest}` : ''}: ${reason}`, { category: ErrorCategory.Integrity });
    this.digest = digest;
  }
}

/**
 * An OCI image layout's own files (`oci-layout`, `index.json`) are unusable. `where` names the layout (a directory
 * or an archive); `reason` says what is wrong. Writers of destinations report it as their own error type.
 */
export class InvalidLayoutError extends MoteError {
  readonly where: string;
  readonly reason: string;
  constructor(where: string, reason: string) {
    super('ERR_INVALID_LAYOUT', `invalid OCI layout ${JSON.stringify(where).slice(0, 300)}: ${reason}`, { category: ErrorCategory.Invalid });
    this.where = where;
    this.reason = reason;
  }
}
