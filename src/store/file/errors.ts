import { NoSpaceError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';

/** Maps ENOSPC/EDQUOT to {@link NoSpaceError}; anything else is returned as it is. */
export function asStoreError(err: unknown, path: string): unknown {
  return isErrno(err, 'ENOSPC', 'EDQUOT') ? new NoSpaceError(path, err) : err;
}
