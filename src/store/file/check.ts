import { InvalidArgumentError } from '../../errors.js';

/** A size argument: a whole number of bytes, or -1 for "unknown". */
export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < -1) {
    throw new InvalidArgumentError(`size must be a whole number of bytes (or -1 for unknown), got ${size}`);
  }
}
