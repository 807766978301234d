import fs from 'node:fs';
import { parseDigest } from '../digest/index.js';
import { AbortError } from '../errors.js';
import type { VerifyResult } from './types.js';
import type { StoreContext } from './context.js';
import { hashFd } from '../digest/hash-file.js';
import { evictCorrupt } from './reader.js';
import { walkBlobs } from './walk.js';

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Called after each mote with running totals. */
  onProgress?: (progress: { checked: number; bytes: number; totalBytes: number }) => void;
  /** Age after which temporaries are swept. */
  staleAfterMs: number;
}

/**
 * Re-hashes every mote and evicts those whose content no longer matches their name (bit rot, a write through a
 * hard link somebody made writable, a truncation behind our back), then sweeps stale temporaries only: in-flight
 * writers keep theirs.
 */
export async function verifyStore(ctx: StoreContext, options: VerifyOptions): Promise<VerifyResult> {
  const entries = [...walkBlobs(ctx.layout)];
  const totalBytes = entries.reduce((n, e) => n + e.size, 0);
  const corrupt: string[] = [];
  let checked = 0;
  let bytes = 0;
  for (const e of entries) {
    if (options.signal?.aborted) throw new AbortError(options.signal.reason);
    let fd: number;
    try {
      fd = fs.openSync(e.path, 'r');
    } catch {
      continue; // removed meanwhile
    }
    try {
      const ino = fs.fstatSync(fd).ino;
      const { digest, size } = await hashFd(fd, parseDigest(e.digest).algorithm, { signal: options.signal });
      checked++;
      bytes += size;
      if (digest !== e.digest) {
        corrupt.push(e.digest);
        evictCorrupt(ctx, e.digest, ino);
      }
    } finally {
      fs.closeSync(fd);
    }
    options.onProgress?.({ checked, bytes, totalBytes });
  }
  const sweptTemporaries = ctx.layout.sweepTemporaries(options.staleAfterMs);
  return { checked, bytes, corrupt, sweptTemporaries };
}
