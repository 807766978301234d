/**
 * The one verifier: every path that reads, writes or downloads bytes checks them here, against the digest and size
 * they are supposed to have (the store's writes and reads, the pull-through download, the registry client's
 * manifests and uploads). One rule, one place:
 * - the size is checked first (cheaper, and the clearer error), and as soon as a chunk would pass it: no point
 *   hashing or writing gigabytes that will be thrown away;
 * - then the digest, with the expected digest's own algorithm;
 * - a mismatch is a typed error (`SizeMismatchError`, `DigestMismatchError`) and nothing is published.
 */
import { DigestMismatchError, SizeMismatchError } from '../errors.js';
import type { DigestAlgorithm } from './algorithms.js';
import { createDigester, type Digester } from './digester.js';
import { parseDigest } from './parse.js';

/** What the bytes must be. A missing digest means "whatever they hash to"; a size of -1 (or none), unknown. */
export interface Expected {
  digest?: string | undefined;
  size?: number | undefined;
  /** Hashing algorithm when no digest is expected. Default `sha256`. */
  algorithm?: DigestAlgorithm | undefined;
  /** Where the bytes come from (`blob from <url>`), named by a mismatch error's message and `source`. */
  source?: string | undefined;
}

/** Throws the typed error if `actualDigest`/`actualSize` are not what `expected` says. Size first. */
export function checkContent(expected: Expected, actualDigest: string, actualSize: number): void {
  const size = expected.size ?? -1;
  if (size >= 0 && actualSize !== size) throw new SizeMismatchError(expected.digest ?? actualDigest, size, actualSize, expected.source);
  if (expected.digest !== undefined && actualDigest !== expected.digest) throw new DigestMismatchError(expected.digest, actualDigest, expected.source);
}

/** Incremental verification of one stream of bytes. */
export class Verifier {
  readonly expected: Readonly<Expected>;
  readonly algorithm: DigestAlgorithm;
  readonly #digester: Digester;
  #received = 0;
  #digest: string | undefined;

  constructor(expected: Expected = {}) {
    this.expected = { ...expected };
    this.algorithm = expected.digest !== undefined ? parseDigest(expected.digest).algorithm : (expected.algorithm ?? 'sha256');
    this.#digester = createDigester(this.algorithm);
  }

  /** Bytes hashed so far. */
  get received(): number {
    return this.#received;
  }

  /** Throws SizeMismatchError if `n` more bytes would pass the expected size. Hashes nothing. */
  ensureRoom(n: number): void {
    const size = this.expected.size ?? -1;
    if (size >= 0 && this.#received + n > size) {
      throw new SizeMismatchError(this.expected.digest ?? '(digest not given)', size, this.#received + n, this.expected.source);
    }
  }

  /** Hashes a chunk (after {@link ensureRoom}). */
  update(chunk: Uint8Array): void {
    this.ensureRoom(chunk.byteLength);
    this.#digester.update(chunk);
    this.#received += chunk.byteLength;
  }

  /** The digest of every byte so far. May be called more than once; no byte may follow it. */
  digest(): string {
    return (this.#digest ??= this.#digester.digest());
  }

  /** The digest, after checking size and digest against what was expected (typed errors). */
  verify(): string {
    const actual = this.digest();
    checkContent(this.expected, actual, this.#received);
    return actual;
  }
}

/** Verifies bytes held in memory; returns their digest. */
export function verifyBytes(data: Uint8Array, expected: Expected): string {
  const algorithm = expected.digest !== undefined ? parseDigest(expected.digest).algorithm : (expected.algorithm ?? 'sha256');
  // Hashed whole, then checked: the bytes are all here, so the error can name their real digest and size.
  const actual = createDigester(algorithm).update(data).digest();
  checkContent(expected, actual, data.byteLength);
  return actual;
}
