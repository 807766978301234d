/**
 * Hashing and verifying files (the store's commits, `verify`, verifying reads of random access). Reads are
 * synchronous into one reused 1 MiB buffer (an async read costs ~40-50 µs of overhead per call here, a sync one a
 * few: it matters for many small motes), and the loop yields to the event loop every 32 MiB so a large file does
 * not starve other work.
 */
import fs from 'node:fs';
import { throwIfAborted, yieldToEventLoop } from '../internal/abort.js';
import { Verifier, checkContent, type Expected } from './verifier.js';

const CHUNK = 1 << 20;
const YIELD_EVERY = 32 * CHUNK;

export interface HashFileOptions {
  signal?: AbortSignal | undefined;
  onBytes?: (n: number) => void;
}

/** Feeds an open file, from offset 0, to `verifier`. */
async function feed(fd: number, verifier: Verifier, options: HashFileOptions): Promise<void> {
  const buffer = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  let sinceYield = 0;
  for (;;) {
    const n = fs.readSync(fd, buffer, 0, CHUNK, position);
    if (n === 0) break;
    verifier.update(n === CHUNK ? buffer : buffer.subarray(0, n));
    position += n;
    options.onBytes?.(n);
    sinceYield += n;
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await yieldToEventLoop();
      throwIfAborted(options.signal);
    }
  }
}

/** The digest (with `algorithm`) and size of an open file, read from offset 0. */
export async function hashFd(fd: number, algorithm: string, options: HashFileOptions = {}): Promise<{ digest: string; size: number }> {
  const verifier = new Verifier({ algorithm: algorithm as Expected['algorithm'] });
  await feed(fd, verifier, options);
  return { digest: verifier.digest(), size: verifier.received };
}

/** Verifies an open file (from offset 0) against `expected`; resolves with its digest or rejects with the typed error. */
export async function verifyFd(fd: number, expected: Expected, options: HashFileOptions = {}): Promise<string> {
  const verifier = new Verifier({ digest: expected.digest, algorithm: expected.algorithm });
  await feed(fd, verifier, options);
  // The size is checked after the whole file: a file longer than expected is reported with its real size.
  const actual = verifier.digest();
  checkContent(expected, actual, verifier.received);
  return actual;
}

/** {@link verifyFd} by path. */
export async function verifyFile(path: string, expected: Expected, options: HashFileOptions = {}): Promise<string> {
  const fd = fs.openSync(path, 'r');
  try {
    return await verifyFd(fd, expected, options);
  } finally {
    fs.closeSync(fd);
  }
}
