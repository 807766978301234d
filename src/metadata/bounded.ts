import { CacheUnavailableError, MoteError } from '../errors.js';

/**
 * Runs `fn` within `timeoutMs`; anything but our own typed errors becomes `CacheUnavailableError` naming `what`.
 * The clients' own timeouts are not enough on their own: memjs leaves a request pending forever when the server
 * closes the connection under it.
 */
export async function bounded<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let work: Promise<T>;
  try {
    work = fn();
  } catch (err) {
    work = Promise.reject(err);
  }
  work.catch(() => {}); // may settle after the timeout
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof MoteError) throw err;
    throw new CacheUnavailableError(what, err);
  } finally {
    clearTimeout(timer);
  }
}

/** `items` in slices of `size` (a backend's one round trip carries at most one slice). */
export function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
