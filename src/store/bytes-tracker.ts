import { parseDigest } from '../digest/index.js';
import { InvalidArgumentError } from '../errors.js';

/**
 * Dedup accounting: `total` counts every descriptor added, `deduplicated` each digest once. Adding 10 bytes of
 * "1" gives 10/10; again, 20/10; then 11 bytes of "2", 31/21.
 */
export class BytesTracker {
  #total = 0;
  #deduplicated = 0;
  readonly #seen = new Set<string>();

  add(descriptor: { digest: string; size: number }): void {
    parseDigest(descriptor.digest);
    if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
      throw new InvalidArgumentError(`BytesTracker.add: size must be a whole number >= 0, got ${descriptor.size}`);
    }
    this.#total += descriptor.size;
    if (!this.#seen.has(descriptor.digest)) {
      this.#seen.add(descriptor.digest);
      this.#deduplicated += descriptor.size;
    }
  }

  /** Bytes of every add. */
  get total(): number {
    return this.#total;
  }

  /** Bytes counting each digest once. */
  get deduplicated(): number {
    return this.#deduplicated;
  }

  /** Distinct digests seen. */
  get count(): number {
    return this.#seen.size;
  }
}
