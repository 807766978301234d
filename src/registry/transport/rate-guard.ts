/**
 * The minimum transfer rate of response bodies (`minTransferRate`): a body that brings fewer than `bytes` in a
 * window of `windowMs`, while its reader is reading, fails. The chunk timeout (`timeoutMs`) cannot see a registry
 * that trickles a byte every few seconds; this can.
 *
 * Windows are consecutive (not sliding): a rate that drops is noticed within two windows. Time the reader is not
 * reading (it is busy, or the disk is slow: backpressure) is not the registry's, so a hold stops the window and
 * the next read starts a new one.
 */
import { InvalidArgumentError } from '../../errors.js';
import { MIN_TRANSFER_RATE_DEFAULTS } from '../options.js';
import type { MinTransferRate } from '../types.js';

export interface ResolvedMinTransferRate {
  bytes: number;
  windowMs: number;
}

/** The largest timer delay Node honours (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The option with its defaults, checked; `undefined` when turned off (`false`). */
export function resolveMinTransferRate(o: MinTransferRate | false | undefined): ResolvedMinTransferRate | undefined {
  if (o === false) return undefined;
  if (o !== undefined && (typeof o !== 'object' || o === null)) throw new InvalidArgumentError('minTransferRate must be an object or false');
  const bytes = o?.bytes ?? MIN_TRANSFER_RATE_DEFAULTS.bytes;
  const windowMs = o?.windowMs ?? MIN_TRANSFER_RATE_DEFAULTS.windowMs;
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new InvalidArgumentError(`minTransferRate.bytes must be a whole number of at least 1, got ${String(bytes)}`);
  if (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > MAX_TIMER_MS) {
    throw new InvalidArgumentError(`minTransferRate.windowMs must be a whole number from 1 to ${MAX_TIMER_MS}, got ${String(windowMs)}`);
  }
  return { bytes, windowMs };
}

/** Watches one body. Idle (no window running) until `reading()`; `tooSlow` is called at most once. */
export class RateGuard {
  readonly #rate: ResolvedMinTransferRate | undefined;
  readonly #tooSlow: (received: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #received = 0;
  #stopped = false;

  constructor(rate: ResolvedMinTransferRate | undefined, tooSlow: (received: number) => void) {
    this.#rate = rate;
    this.#tooSlow = tooSlow;
  }

  /** The reader wants bytes: a window starts, unless one is running. */
  reading(): void {
    if (this.#timer === undefined) this.#startWindow();
  }

  /** The reader stopped reading (backpressure): the time until it reads again does not count. */
  hold(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** `n` bytes arrived. */
  add(n: number): void {
    this.#received += n;
  }

  /** The body ended or failed: no verdict any more. */
  stop(): void {
    this.#stopped = true;
    this.hold();
  }

  #startWindow(): void {
    const rate = this.#rate;
    if (!rate || this.#stopped) return;
    this.#received = 0;
    // Unreferenced: the body's socket keeps the process alive while it matters, the guard alone must not.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped) return;
      if (this.#received >= rate.bytes) return this.#startWindow();
      this.#stopped = true;
      this.#tooSlow(this.#received);
    }, rate.windowMs).unref();
  }
}
