/**
 * Filesystem errors as the CLI reports them: one line with a code of its own and the exit code that code maps to
 * (exit-codes.ts), instead of Node's errno code and text.
 *
 * - A file named on the command line that is not there (`mote put FILE`, `warm --repos FILE`, the directory of
 *   `get -o FILE`): `ERR_MOTE_NO_SUCH_FILE`, exit 2. Not 3: "not found" is what the cache or a registry does not
 *   hold (a script fetches on it), as skopeo keeps its not-found status for an image missing from a source that
 *   exists and reports a missing file as a plain failure, like crane. The argument itself is what is wrong, as
 *   with `put DIRECTORY`: retrying cannot help.
 * - Access refused by the filesystem (EACCES, EPERM, EROFS): `ERR_MOTE_ACCESS_DENIED`, exit 1; for the cache, the
 *   message says it is one this user may only read (reads work there; writes need write access). Not 6, which is a
 *   registry refusing credentials: logging in again cannot fix a file's permissions.
 */
import path from 'node:path';
import { isErrno } from '../internal/errno.js';
import { CliError } from './output.js';

export const NO_SUCH_FILE_CODE = 'ERR_MOTE_NO_SUCH_FILE';
export const ACCESS_DENIED_CODE = 'ERR_MOTE_ACCESS_DENIED';

const DENIED = ['EACCES', 'EPERM', 'EROFS'] as const;

/** Node's text without its leading errno code: "permission denied, mkdir '/x'". */
function detail(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^E[A-Z]+: /, '');
}

/**
 * The error for a file named on the command line that could not be opened: `role` 'read' (an input), or 'write'
 * (an output, whose directory must exist). Other errors are returned as they are.
 */
export function namedFileError(err: unknown, file: string, role: 'read' | 'write'): unknown {
  if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
    const message =
      role === 'read'
        ? `${file}: no such file (${detail(err)})`
        : `cannot write ${file}: no directory ${path.dirname(path.resolve(file))} (${detail(err)})`;
    return new CliError(NO_SUCH_FILE_CODE, message);
  }
  if (isErrno(err, ...DENIED)) return new CliError(ACCESS_DENIED_CODE, `cannot ${role} ${file}: ${detail(err)}`);
  return err;
}

/** An access error in the cache directory: the cache is one this user may only read. Others as they are. */
export function cacheAccessError(err: unknown, cacheDir: string): unknown {
  if (!isErrno(err, ...DENIED)) return err;
  return new CliError(ACCESS_DENIED_CODE, `the cache ${cacheDir} cannot be written by this user (${detail(err)}): reads work, writes need write access`);
}

/** Any other access error the filesystem raised (e.g. a pull's destination): typed, one line. */
export function accessError(err: unknown): unknown {
  return isErrno(err, ...DENIED) ? new CliError(ACCESS_DENIED_CODE, `permission denied: ${detail(err)}`) : err;
}
