import { Transform, type TransformCallback } from 'node:stream';
import { Verifier, type Expected } from './verifier.js';

/**
 * A pass-through stream that verifies what flows through it: it fails as soon as more bytes than expected arrive,
 * and at its end if the size or digest is wrong (the consumer has then read unverified bytes, and must not use
 * them: the error is the verdict). For a source whose stream is the only copy (a registry's blob).
 */
export class VerifyingStream extends Transform {
  readonly #verifier: Verifier;

  constructor(expected: Expected) {
    super();
    this.#verifier = new Verifier(expected);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#verifier.update(chunk);
    } catch (err) {
      return callback(err as Error);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#verifier.verify();
    } catch (err) {
      return callback(err as Error);
    }
    callback();
  }
}
