import { CommanderError } from 'commander';

/**
 * Exit codes of `mote`. They are part of the CLI's interface: scripts may switch on them.
 *
 * | code | meaning                                                                                      |
 * |------|----------------------------------------------------------------------------------------------|
 * | 0    | success                                                                                      |
 * | 1    | any other failure (I/O errors, an unreadable input file, bugs)                               |
 * | 2    | usage: unknown command or flag, missing argument, bad digest, bad size, bad algorithm        |
 * | 3    | not found: the mote is not in the cache                                                      |
 * | 4    | integrity: digest or size mismatch on `put`/`get --verify`, or `verify` found corrupt motes  |
 * | 5    | no space left on the device holding the cache                                                |
 * | 130  | interrupted (SIGINT); a second SIGINT exits at once                                          |
 */
export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  NotFound: 3,
  Integrity: 4,
  NoSpace: 5,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Error codes (the library's `MoteError.code`, plus the CLI's own) and the exit code each maps to. */
const BY_ERROR_CODE: Readonly<Record<string, ExitCode>> = {
  ERR_INVALID_DIGEST: ExitCode.Usage,
  ERR_MOTE_INVALID_ARGUMENT: ExitCode.Usage,
  ERR_MOTE_USAGE: ExitCode.Usage,
  ERR_MOTE_NOT_FOUND: ExitCode.NotFound,
  ERR_MOTE_SIZE_MISMATCH: ExitCode.Integrity,
  ERR_MOTE_DIGEST_MISMATCH: ExitCode.Integrity,
  ERR_MOTE_CORRUPT: ExitCode.Integrity,
  ERR_MOTE_NO_SPACE: ExitCode.NoSpace,
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
  if (typeof code === 'string') return BY_ERROR_CODE[code] ?? ExitCode.Failure;
  // A DOMException from AbortSignal has a numeric code; its name says what it is.
  if (err instanceof Error && err.name === 'AbortError') return ExitCode.Interrupted;
  return ExitCode.Failure;
}
