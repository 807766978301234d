/** Small async helpers of `pull`: a bounded pool, and unwrapping the store's download error. */
import { MoteError } from '../errors.js';

/**
 * Runs `fn` over `items`, at most `limit` at once. After the first failure no new item starts; the ones running
 * are waited for (so nothing is left writing into the store behind the caller's back), then the failure is thrown.
 */
export async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/**
 * A pull-through fetch gives up with `ERR_MOTE_FETCH_FAILED` around the registry's own typed error; the
 * registry's is the one that says what went wrong (auth, not found, a lie), so it is the one `pull` throws.
 */
export function unwrapFetchError(err: unknown): unknown {
  if (err instanceof MoteError && err.code === 'ERR_MOTE_FETCH_FAILED' && err.cause instanceof MoteError) return err.cause;
  return err;
}

