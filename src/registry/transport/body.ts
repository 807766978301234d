/**
 * Response bodies: a bounded, length-checked view of an HTTP body (for blobs), a capped reader (for manifests,
 * error documents and tokens), and discarding bodies that are not wanted. Both readers hold the body to the
 * client's minimum transfer rate (`rate-guard.ts`).
 */
import { Readable } from 'node:stream';
import { asAbortError, raceSignal, throwIfAborted } from '../../internal/abort.js';
import { callSafely } from '../../internal/listeners.js';
import { RegistryProtocolError, RegistryTooSlowError } from '../errors.js';
import { RateGuard, type ResolvedMinTransferRate } from './rate-guard.js';
import type { Response } from './types.js';

/** Releases a body nobody will read: destroyed, never read (a 416 body may lie about its length). */
export function discard(body: Readable | undefined): void {
  if (!body) return;
  body.on('error', () => {});
  body.destroy();
}

/** How a body that arrives too slowly fails: the rate, and the error naming the registry and the object. */
export interface SlowBodyPolicy {
  rate: ResolvedMinTransferRate | undefined;
  error: (received: number) => Error;
}

/** The policy for the body of `res`, for messages about `what` on `registry`. */
export function slowBodyPolicy(res: Response, what: string, registry: string): SlowBodyPolicy {
  const rate = res.minRate;
  return {
    rate,
    error: (received) => new RegistryTooSlowError(what, { registry, status: res.status, bytes: rate?.bytes ?? 0, windowMs: rate?.windowMs ?? 0, received }),
  };
}

/**
 * Reads a whole body of at most `cap` bytes; `undefined` (and the body destroyed) if it is longer. With `slow`, a
 * body arriving under its minimum rate is destroyed with its error, which this rejects with.
 */
export async function readCapped(body: Readable, cap: number, slow?: SlowBodyPolicy): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  // Read in a loop that always wants the next chunk: every window of the guard is the registry's time.
  const guard = new RateGuard(slow?.rate, (received) => body.destroy(slow!.error(received)));
  guard.reading();
  try {
    for await (const c of body) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      guard.add(b.length);
      n += b.length;
      if (n > cap) {
        discard(body);
        return undefined;
      }
      chunks.push(b);
    }
  } finally {
    guard.stop();
    if (!body.destroyed && !body.readableEnded) discard(body);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a whole body of at most `cap` bytes. Longer (by its declared length, or as it arrives) is a
 * RegistryProtocolError that says so: the caller never mistakes a huge answer for an empty or malformed one. A body
 * that fails is a RegistryProtocolError, an abort (during the read, or one that won the race with its end) the
 * project's AbortError: never undici's raw errors or a DOMException.
 */
export async function readBody(res: Response, cap: number, signal: AbortSignal | undefined, what: string, registry: string): Promise<Buffer> {
  const tooLarge = (): RegistryProtocolError =>
    new RegistryProtocolError(`${what}: the answer is over the ${cap}-byte limit`, { registry, status: res.status });
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > cap) {
    discard(res.body);
    throw tooLarge();
  }
  let buf: Buffer | undefined;
  try {
    buf = await raceSignal(readCapped(res.body, cap, slowBodyPolicy(res, what, registry)), signal);
  } catch (err) {
    discard(res.body);
    if (signal?.aborted) throw asAbortError(err, signal);
    if (err instanceof RegistryTooSlowError) throw err;
    throw new RegistryProtocolError(`${what}: the body failed: ${(err as Error).message}`, { registry, status: res.status, cause: err });
  }
  throwIfAborted(signal);
  if (buf === undefined) throw tooLarge();
  return buf;
}

export interface BoundedBodyOptions {
  /** Bytes of the source to drop first (a server that answered a ranged request with the whole blob). */
  skip: number;
  /** Bytes to deliver after the skipped ones; the body errors if the source ends before. */
  length: number;
  /** Called with the size of every chunk received from the network (skipped bytes included); what it throws is ignored. */
  onBytes?: ((n: number) => void) | undefined;
  /** Makes the error for a source that ended or failed before `length` bytes. */
  shortError: (delivered: number, cause?: unknown) => Error;
  /** Maps a source error (e.g. an abort) before it is reported; return undefined to use `shortError`. */
  mapError?: ((err: unknown) => Error | undefined) | undefined;
  /** The minimum rate while this body is read, and its error. Default: none. */
  slow?: SlowBodyPolicy | undefined;
}

/**
 * Delivers exactly `length` bytes of `source` after skipping `skip`, with backpressure. A source that ends or
 * fails early errors this stream (never a silent short read). Once `length` bytes are delivered the source is
 * released (destroyed if it had more to give), so a ranged read answered with the whole blob costs no more
 * than the bytes up to the range's end.
 */
export class BoundedBody extends Readable {
  readonly #source: Readable;
  #skip: number;
  #remaining: number;
  #delivered = 0;
  #done = false;
  readonly #o: BoundedBodyOptions;
  readonly #guard: RateGuard;

  constructor(source: Readable, o: BoundedBodyOptions) {
    super();
    this.#source = source;
    this.#skip = o.skip;
    this.#remaining = o.length;
    this.#o = o;
    this.#guard = new RateGuard(o.slow?.rate, (received) => {
      if (this.#done) return;
      this.#done = true;
      this.destroy(o.slow!.error(received));
    });
    source.on('data', (chunk: Buffer) => this.#onData(chunk));
    source.on('end', () => this.#finish());
    source.on('error', (err) => {
      if (this.#done) return;
      this.#done = true;
      this.destroy(this.#o.mapError?.(err) ?? this.#o.shortError(this.#delivered, err));
    });
    source.on('close', () => this.#finish());
    source.pause();
    if (this.#remaining === 0) queueMicrotask(() => this.#complete());
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    // A progress listener's failure is not the transfer's: thrown from a 'data' handler it would otherwise
    // escape as an uncaughtException and end the process (the client's onEvent is isolated the same way).
    callSafely(this.#o.onBytes, chunk.length);
    this.#guard.add(chunk.length);
    let c = chunk;
    if (this.#skip > 0) {
      const drop = Math.min(this.#skip, c.length);
      this.#skip -= drop;
      c = c.subarray(drop);
    }
    if (c.length > this.#remaining) c = c.subarray(0, this.#remaining);
    if (c.length === 0) return;
    this.#remaining -= c.length;
    this.#delivered += c.length;
    const more = this.push(c);
    if (this.#remaining === 0) this.#complete();
    else if (!more) {
      this.#source.pause();
      this.#guard.hold(); // our reader is behind: until it reads again, the wait is not the registry's
    }
  }

  /** Bytes delivered to the reader so far. */
  get delivered(): number {
    return this.#delivered;
  }

  #complete(): void {
    if (this.#done) return;
    this.#done = true;
    this.#guard.stop();
    this.push(null);
    if (!this.#source.readableEnded) discard(this.#source);
  }

  #finish(): void {
    if (this.#done) return;
    if (this.#remaining === 0) return this.#complete();
    this.#done = true;
    this.destroy(this.#o.shortError(this.#delivered));
  }

  override _read(): void {
    if (this.#done) return;
    this.#guard.reading();
    this.#source.resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#done = true;
    this.#guard.stop();
    if (!this.#source.destroyed) discard(this.#source);
    cb(err);
  }
}
