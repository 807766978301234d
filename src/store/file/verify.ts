import fs from 'node:fs';
import { parseDigest } from '../../digest/index.js';
import { throwIfAborted } from '../../internal/abort.js';
import type { VerifyOptions, VerifyResult } from '../types.js';
import type { StoreContext } from './context.js';
import { hashFd } from '../../digest/hash-file.js';
import { evictCorrupt } from './reader.js';
import { walkBlobs } from './walk.js';

/**
 * Re-hashes every mote and evicts those whose content no longer matches their name (bit rot, a write through a
 * hard link somebody made writable, a truncation behind our back), then sweeps stale temporaries only: in-flight
 * writers keep theirs.
 */
export async function verifyStore(ctx: StoreContext, options: VerifyOptions & { sweep: () => number }): Promise<VerifyResult> {
  const entries = [...walkBlobs(ctx.paths)];
  const totalBytes = entries.reduce((n, e) => n + e.size, 0);
  const corrupt: string[] = [];
  let checked = 0;
  let bytes = 0;
  for (const e of entries) {
    throwIfAborted(options.signal);
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
  const sweptTemporaries = options.sweep();
  return { checked, bytes, corrupt, sweptTemporaries };
}
