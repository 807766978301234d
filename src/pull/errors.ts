/**
 * Errors of `pull()` that are not the registry's or the store's. Codes are stable; the CLI maps them to exit codes.
 */
import { MoteError } from '../errors.js';

/**
 * An `oci-archive` contains an entry that could escape the extraction directory or break the layout: an absolute
 * path, a `..` component, a link pointing outside the archive's tree, or anything but a regular file under
 * `blobs/`. Nothing was extracted, nothing was written.
 */
export class UnsafeArchiveError extends MoteError {
  readonly archive: string;
  readonly entry: string;
  constructor(archive: string, entry: string, reason: string) {
    super('ERR_UNSAFE_ARCHIVE', `unsafe archive ${archive}: entry ${JSON.stringify(entry).slice(0, 300)}: ${reason}`);
    this.archive = archive;
    this.entry = entry;
  }
}

/** A destination string (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`) is malformed, or names something unusable. */
export class InvalidDestinationError extends MoteError {
  readonly destination: string;
  constructor(destination: string, reason: string) {
    super('ERR_INVALID_DESTINATION', `invalid destination ${JSON.stringify(destination).slice(0, 300)}: ${reason}`);
    this.destination = destination;
  }
}

/** A platform string is not `os/arch[/variant]`. */
export class InvalidPlatformError extends MoteError {
  constructor(platform: string, reason: string) {
    super('ERR_INVALID_PLATFORM', `invalid platform ${JSON.stringify(platform).slice(0, 100)}: ${reason}`);
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
    );
    this.platform = platform;
    this.available = available;
  }
}

/** A manifest or index is not a document this code can use (unparsable JSON, wrong schema, unknown type). */
export class InvalidManifestError extends MoteError {
  readonly digest: string | undefined;
  constructor(reason: string, digest?: string) {
    super('ERR_INVALID_MANIFEST', `invalid manifest${digest ? ` ${digest}` : ''}: ${reason}`);
    this.digest = digest;
  }
}
