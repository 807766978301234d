/**
 * Input checks shared by every key/value backend, and the metadata store's key scheme. Keys are checked before
 * any backend is touched, so every backend refuses exactly the same inputs with the same typed error.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { MAX_VALUE_BYTES } from './types.js';

/** The longest key a backend accepts (memcached allows 250; the rest is headroom). */
export const MAX_KEY_BYTES = 200;

// Printable ASCII without space: what memcached's text protocol allows, and safe in every backend.
const KEY_RE = /^[\x21-\x7e]+$/;

export function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= MAX_KEY_BYTES && KEY_RE.test(key);
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string') throw new InvalidArgumentError(`a key must be a string, got ${typeof key}`);
  if (key.length === 0) throw new InvalidArgumentError('a key must not be empty');
  if (key.length > MAX_KEY_BYTES) throw new InvalidArgumentError(`a key is at most ${MAX_KEY_BYTES} bytes, got ${key.length}`);
  if (!KEY_RE.test(key)) {
    throw new InvalidArgumentError(`a key is printable ASCII without spaces: ${JSON.stringify(key).slice(0, 220)}`);
  }
  return key;
}

export function checkKeys(keys: unknown): string[] {
  if (!Array.isArray(keys)) throw new InvalidArgumentError('keys must be an array');
  return keys.map(checkKey);
}

export function checkValue(value: unknown): Buffer {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('a value must be a Buffer');
  if (value.byteLength > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`a value is at most ${MAX_VALUE_BYTES} bytes, got ${value.byteLength}`);
  }
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** A positive, finite TTL in whole milliseconds (rounded up: a TTL never gets shorter than asked). */
export function checkTtl(ttlMs: unknown, required: boolean): number | undefined {
  if (ttlMs === undefined && !required) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidArgumentError(`ttlMs must be a positive number of milliseconds, got ${String(ttlMs)}`);
  }
  return Math.ceil(ttlMs);
}

export function checkTimeout(timeoutMs: unknown, fallback: number): number {
  const t = timeoutMs ?? fallback;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(t)}`);
  }
  return t;
}

/** Bumped when the stored format changes: records of another version are simply never read. */
export const KEY_VERSION = 'motemeta1';

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** `motemeta1|<kind>|<name>`, or `motemeta1|<kind>#|<sha256 of name>` when that is not a valid key (too long). */
function named(kind: string, name: string): string {
  const plain = `${KEY_VERSION}|${kind}|${name}`;
  return isValidKey(plain) ? plain : `${KEY_VERSION}|${kind}#|${sha256Hex(name)}`;
}

/** The metadata store's keys, for tooling and tests that look at the backend directly. */
export const metadataKeys = {
  /** Head record of a repository's state (`registry/repository`). */
  repository: (name: string): string => named('repo', name),
  /** Head record of an image's facts (by digest: at most 143 characters, never hashed). */
  image: (digest: string): string => `${KEY_VERSION}|image|${validateDigest(digest)}`,
  /** A lease. */
  lease: (name: string): string => named('lease', name),
  /** Chunk `index` of the large value written as generation `gen`. */
  chunk: (gen: string, index: number): string => `${KEY_VERSION}|chunk|${gen}|${index}`,
} as const;
