/**
 * The CLI's exit codes (src/cli/exit-codes.ts) for every library error, including the pull errors, and the
 * one-line error descriptions (src/cli/output.ts) printed with them. The CLI itself, run from dist/, is cli.test.ts.
 */
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor } from '../../src/cli/exit-codes.js';
import { describeError } from '../../src/cli/output.js';
import {
  AbortError,
  DigestMismatchError,
  InvalidArgumentError,
  InvalidDigestError,
  MoteError,
  MoteNotFoundError,
  NoSpaceError,
  SizeMismatchError,
} from '../../src/errors.js';
import { InvalidDestinationError, UnsafeArchiveError } from '../../src/pull/errors.js';
import { PlatformNotFoundError } from '../../src/oci/errors.js';
import { RegistryAuthError, RegistryNotFoundError, RegistryProtocolError, RegistryRateLimitError, RegistryTooSlowError, RegistryUnavailableError } from '../../src/registry/errors.js';
import { PullTimeoutError } from '../../src/pull/deadline.js';

const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

describe('exit codes and error descriptions', () => {
  it('has the documented values', () => {
    expect(ExitCode).toEqual({ Ok: 0, Failure: 1, Usage: 2, NotFound: 3, Integrity: 4, NoSpace: 5, RegistryAuth: 6, RegistryUnavailable: 7, Interrupted: 130 });
  });

  it('maps each library error to its exit code', () => {
    const d = ZERO_DIGEST;
    expect(exitCodeFor(new InvalidDigestError('x', 'bad'))).toBe(2);
    expect(exitCodeFor(new InvalidArgumentError('bad'))).toBe(2);
    expect(exitCodeFor(new MoteNotFoundError(d))).toBe(3);
    expect(exitCodeFor(new SizeMismatchError(d, 1, 2))).toBe(4);
    expect(exitCodeFor(new DigestMismatchError(d, d))).toBe(4);
    expect(exitCodeFor(new NoSpaceError('/c', new Error('ENOSPC')))).toBe(5);
    expect(exitCodeFor(Object.assign(new Error('disk full'), { code: 'ENOSPC' }))).toBe(5);
    expect(exitCodeFor(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe(1);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
    expect(exitCodeFor(new CommanderError(1, 'commander.unknownOption', 'error: unknown option'))).toBe(2);
    expect(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toBe(0);
    expect(exitCodeFor(new AbortError())).toBe(130);
    const signal = AbortSignal.abort();
    expect(exitCodeFor(signal.reason)).toBe(130); // a DOMException, whose code is a number
    // A registry too slow for the minimum transfer rate, and a pull past its --timeout: unavailable, 7.
    expect(exitCodeFor(new RegistryTooSlowError('blob r/x@d', { registry: 'r', bytes: 10, windowMs: 1000, received: 1 }))).toBe(7);
    expect(exitCodeFor(new PullTimeoutError('r/x:1', 1000, new AbortError()))).toBe(7);
  });

  it('describes errors as a stable code and a one-line message', () => {
    expect(describeError(new MoteNotFoundError(ZERO_DIGEST))).toEqual({ code: 'ERR_MOTE_NOT_FOUND', message: `blob ${ZERO_DIGEST}: not found in the cache` });
    expect(describeError(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toEqual({ code: 'ENOENT', message: 'no such file' });
    expect(describeError(new CommanderError(1, 'commander.x', "error: unknown option '--x'"))).toEqual({ code: 'ERR_MOTE_USAGE', message: "unknown option '--x'" });
    expect(describeError(new Error('two\nlines')).message).toBe('two lines');
  });
});

describe('exit codes for pull errors', () => {
  const r = { registry: 'example.com' };
  it.each([
    [new RegistryAuthError('denied', r), ExitCode.RegistryAuth],
    [new RegistryNotFoundError('no', r), ExitCode.NotFound],
    [new RegistryUnavailableError('down', r), ExitCode.RegistryUnavailable],
    [new RegistryRateLimitError('slow down', r), ExitCode.RegistryUnavailable],
    [new RegistryProtocolError('lies', r), ExitCode.Integrity],
    [new UnsafeArchiveError('a.tar', '../x', 'bad'), ExitCode.Integrity],
    [new InvalidDestinationError('x', 'bad'), ExitCode.Usage],
    [new PlatformNotFoundError('linux/s390x', []), ExitCode.NotFound],
    [new MoteError('ERR_INVALID_REFERENCE', 'bad'), ExitCode.Usage],
    // The store's "download failed" takes its cause's code; without a useful cause it is "unavailable".
    [new MoteError('ERR_MOTE_FETCH_FAILED', 'x', { cause: new RegistryAuthError('denied', r) }), ExitCode.RegistryAuth],
    [new MoteError('ERR_MOTE_FETCH_FAILED', 'x', { cause: new Error('socket') }), ExitCode.RegistryUnavailable],
  ])('%s → %i', (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});
