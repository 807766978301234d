/** Small async helpers of `pull`: the bounded pool (internal/pool.ts), and unwrapping the store's download error. */
export { runPool } from '../internal/pool.js';
import { MoteError } from '../errors.js';

/**
 * A pull-through fetch gives up with `ERR_MOTE_FETCH_FAILED` around the registry's own typed error; the
 * registry's is the one that says what went wrong (auth, not found, a lie), so it is the one `pull` throws.
 */
export function unwrapFetchError(err: unknown): unknown {
  if (err instanceof MoteError && err.code === 'ERR_MOTE_FETCH_FAILED' && err.cause instanceof MoteError) return err.cause;
  return err;
}

