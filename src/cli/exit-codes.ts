import { CommanderError } from 'commander';

/**
 * Exit codes of `mote`. They are part of the CLI's interface: scripts may switch on them.
 *
 * | code | meaning                                                                                      |
 * |------|----------------------------------------------------------------------------------------------|
 * | 0    | success                                                                                      |
 * | 1    | any other failure (I/O errors, bugs); the filesystem refused access (ERR_MOTE_ACCESS_DENIED:  |
 * |      | an unreadable input file, a write to a cache this user may only read)                        |
 * | 2    | usage: unknown command or flag, missing argument, bad digest, size, algorithm, reference,    |
 * |      | destination or platform, an unparsable credentials file, a credential helper that is not     |
 * |      | installed (ERR_CREDENTIAL_HELPER_NOT_FOUND); a file named on the command line                |
 * |      | that does not exist (ERR_MOTE_NO_SUCH_FILE); a cache path that cannot hold a cache (a file)  |
 * | 3    | not found: the mote is not in the cache; the registry has no such repository, tag or blob;   |
 * |      | the image index has no manifest for the platform; `logout` / `login --get-login` of a        |
 * |      | registry with no stored credentials (ERR_NOT_LOGGED_IN)                                      |
 * | 4    | integrity: digest or size mismatch (`put`, `get --verify`, a registry sending wrong bytes),  |
 * |      | `verify` found corrupt motes, a registry breaking the protocol, an invalid manifest or       |
 * |      | descriptor, an unsafe `oci-archive`                                                          |
 * | 5    | no space left on the device holding the cache, or a pull's destination                       |
 * | 6    | the registry refused the credentials or denied access; a credential helper failed, timed out |
 * |      | or answered nonsense (ERR_CREDENTIAL_HELPER): no credentials could be had                    |
 * | 7    | the registry is unreachable, unavailable, rate limiting us, too slow (under the minimum      |
 * |      | transfer rate), needs an insecure connection that was not allowed; `pull --timeout` passed   |
 * | 130  | interrupted (SIGINT); a second SIGINT exits at once                                          |
 *
 * An error with no mapping of its own (e.g. the store's `ERR_MOTE_FETCH_FAILED`) takes its `cause`'s exit code
 * when the cause has one, else 1 (7 for a failed pull-through download).
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Integrity: 4,
  NoSpace: 5,
  RegistryAuth: 6,
  RegistryUnavailable: 7,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Error codes (the library's `MoteError.code`, plus the CLI's own) and the exit code each maps to. */
const BY_ERROR_CODE: Readonly<Record<string, ExitCode>> = {
  ERR_INVALID_DIGEST: ExitCode.Usage,
  ERR_MOTE_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_MOTE_USAGE: ExitCode.Usage,
  ERR_MOTE_NO_SUCH_FILE: ExitCode.Usage,
  ERR_MOTE_ACCESS_DENIED: ExitCode.Failure,
  ERR_MOTE_NOT_FOUND: ExitCode.NotFound,
  ERR_MOTE_SIZE_MISMATCH: ExitCode.Integrity,
  ERR_MOTE_DIGEST_MISMATCH: ExitCode.Integrity,
  ERR_MOTE_CORRUPT: ExitCode.Integrity,
  ERR_MOTE_NO_SPACE: ExitCode.NoSpace,
  ERR_INVALID_REFERENCE: ExitCode.Usage,
  ERR_INVALID_DESTINATION: ExitCode.Usage,
  ERR_INVALID_COPY_SOURCE: ExitCode.Usage,
  ERR_SIGNED_IMAGE: ExitCode.Usage,
  ERR_INVALID_PLATFORM: ExitCode.Usage,
  ERR_REGISTRY_NOT_FOUND: ExitCode.NotFound,
  ERR_PLATFORM_NOT_FOUND: ExitCode.NotFound,
  ERR_MOTE_NOT_CACHED: ExitCode.NotFound,
  ERR_MOTE_REFRESH_FAILED: ExitCode.RegistryUnavailable,
  ERR_REGISTRY_PROTOCOL: ExitCode.Integrity,
  ERR_INVALID_MANIFEST: ExitCode.Integrity,
  ERR_INVALID_DESCRIPTOR: ExitCode.Integrity,
  ERR_UNSAFE_ARCHIVE: ExitCode.Integrity,
  ERR_REGISTRY_AUTH: ExitCode.RegistryAuth,
  ERR_INVALID_CREDENTIALS: ExitCode.Usage,
  ERR_CREDENTIAL_HELPER_NOT_FOUND: ExitCode.Usage,
  ERR_CREDENTIAL_HELPER: ExitCode.RegistryAuth,
  ERR_NOT_LOGGED_IN: ExitCode.NotFound,
  ERR_REGISTRY_UNAVAILABLE: ExitCode.RegistryUnavailable,
  ERR_REGISTRY_RATE_LIMITED: ExitCode.RegistryUnavailable,
  ERR_REGISTRY_TOO_SLOW: ExitCode.RegistryUnavailable,
  ERR_PULL_TIMEOUT: ExitCode.RegistryUnavailable,
  ERR_REGISTRY_INSECURE: ExitCode.RegistryUnavailable,
  ENOSPC: ExitCode.NoSpace,
  EDQUOT: ExitCode.NoSpace,
  ABORT_ERR: ExitCode.Interrupted,
};

/** The exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CommanderError) {
    // --help and --version end through exitOverride too, with exit code 0.
    return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  }
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    const direct = BY_ERROR_CODE[code];
    if (direct !== undefined) return direct;
    const cause = (err as { cause?: unknown }).cause;
    const fromCause = cause !== undefined && cause !== err ? exitCodeFor(cause) : ExitCode.Failure;
    if (fromCause !== ExitCode.Failure) return fromCause;
    return code === 'ERR_MOTE_FETCH_FAILED' ? ExitCode.RegistryUnavailable : ExitCode.Failure;
  }
  // A DOMException from AbortSignal has a numeric code; its name says what it is.
  if (err instanceof Error && err.name === 'AbortError') return ExitCode.Interrupted;
  return ExitCode.Failure;
}
