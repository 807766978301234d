/**
 * Cancellation helpers, one of each: every long wait in motecache ends when its AbortSignal fires, and rejects with
 * the project's {@link AbortError} (never a DOMException or a library's own abort error).
 */
import type { Readable } from 'node:stream';
import { AbortError } from '../errors.js';

/** Throws AbortError if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/** `err` as the project's AbortError when `signal` has fired (an abort may surface as any library's error), else `err`. */
export function asAbortError(err: unknown, signal: AbortSignal | undefined): unknown {
  if (err instanceof AbortError) return err;
  if (signal?.aborted) return new AbortError(signal.reason);
  if (err instanceof Error && err.name === 'AbortError') return new AbortError(err);
  return err;
}

/**
 * Settles like `p`, or rejects with AbortError as soon as `signal` fires, whichever is first; the listener is
 * removed either way. Lets each caller of a shared operation (a probe, a token fetch, a download) give up alone
 * without cancelling it for the others: the work behind `p` goes on. `onLate` receives a value `p` resolves with
 * after the abort (to release it, e.g. a response body).
 */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined, onLate?: (value: T) => void): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.then((v) => onLate?.(v), () => {});
    return Promise.reject(new AbortError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(new AbortError(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) onLate?.(v);
        else resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Destroys `stream` with AbortError when `signal` fires (at once if it has fired), as long as the stream is open:
 * the listener goes when the stream closes. Returns the stream.
 */
export function destroyOnAbort<S extends Readable>(stream: S, signal: AbortSignal | undefined): S {
  if (!signal || stream.destroyed) return stream;
  if (signal.aborted) return stream.destroy(new AbortError(signal.reason));
  const onAbort = (): void => void stream.destroy(new AbortError(signal.reason));
  signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
  return stream;
}

/** Resolves after `ms`, or rejects with AbortError as soon as `signal` fires (the timer is cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(signal!.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lets the event loop run (timers, I/O callbacks) in the middle of a long synchronous loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
