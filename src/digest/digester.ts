import { InvalidDigestError } from '../errors.js';
import { ALGORITHMS, isAlgorithm, type DigestAlgorithm } from './algorithms.js';

/** Incremental digest computation. `digest()` may be called once and returns `<algorithm>:<hex>`. */
export interface Digester {
  readonly algorithm: DigestAlgorithm;
  update(chunk: Uint8Array | string): this;
  digest(): string;
}

export function assertAlgorithm(algorithm: string): DigestAlgorithm {
  if (!isAlgorithm(algorithm)) {
    throw new InvalidDigestError(`${algorithm}:`, `unsupported algorithm (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  return algorithm;
}

export function createDigester(algorithm: string = 'sha256'): Digester {
  const alg = assertAlgorithm(algorithm);
  const raw = ALGORITHMS[alg].create();
  return {
    algorithm: alg,
    update(chunk) {
      raw.update(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      return this;
    },
    digest: () => `${alg}:${raw.hexDigest()}`,
  };
}

/** The digest of `data` (strings are hashed as UTF-8). */
export function digestOf(data: Uint8Array | string, algorithm: string = 'sha256'): string {
  return createDigester(algorithm).update(data).digest();
}
