import { InvalidDigestError } from '../errors.js';
import { ALGORITHMS, isAlgorithm, type DigestAlgorithm } from './algorithms.js';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  /** Lowercase hex; safe to use as a file name. */
  encoded: string;
}

const LOWER_HEX = /^[0-9a-f]+$/;

/**
 * Parses `<algorithm>:<encoded>` and rejects anything that is not a digest of a supported algorithm: uppercase
 * hex, a wrong length, `/`, `..`, empty strings. Every method that takes a digest calls this before it touches a
 * path, so a digest can never name a file outside `blobs/<algorithm>/`.
 */
export function parseDigest(digest: unknown): ParsedDigest {
  if (typeof digest !== 'string') throw new InvalidDigestError(digest, 'not a string');
  const colon = digest.indexOf(':');
  if (colon <= 0) throw new InvalidDigestError(digest, 'expected <algorithm>:<encoded>');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  if (!isAlgorithm(algorithm)) {
    throw new InvalidDigestError(digest, `unsupported algorithm (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  const { hexLength } = ALGORITHMS[algorithm];
  if (encoded.length !== hexLength) {
    throw new InvalidDigestError(digest, `${algorithm} needs ${hexLength} hex characters, got ${encoded.length}`);
  }
  if (!LOWER_HEX.test(encoded)) throw new InvalidDigestError(digest, 'encoded part must be lowercase hex');
  return { algorithm, encoded };
}

/** Like {@link parseDigest} but returns the digest string itself, for call sites that only need validation. */
export function validateDigest(digest: unknown): string {
  parseDigest(digest);
  return digest as string;
}

/** True if `digest` parses; never throws. */
export function isDigest(digest: unknown): digest is string {
  try {
    parseDigest(digest);
    return true;
  } catch {
    return false;
  }
}
