import fs from 'node:fs';
import { parseDigest } from '../../digest/index.js';
import { throwIfAborted } from '../../internal/abort.js';
import type { VerifyOptions, VerifyResult } from '../types.js';
import type { StoreContext } from './context.js';
import { hashFd } from '../../digest/hash-file.js';
import { evictCorrupt, openBlobSync } from './blob-file.js';
import { walkBlobEntries } from './walk.js';

/**
 * Re-hashes every mote and evicts those whose content no longer matches their name (bit rot, a write through a
 * hard link somebody made writable, a truncation behind our back), and every entry named as a digest that is not
 * a regular file (a symlink, a directory: never followed, reported as corrupt, not counted as checked). Then runs
 * `sweep` (stale temporaries only: in-flight writers keep theirs; abandoned partial downloads).
 */
export async function verifyStore(ctx: StoreContext, options: VerifyOptions & { sweep: () => number }): Promise<VerifyResult> {
  const entries = [...walkBlobEntries(ctx.paths)];
  const totalBytes = entries.reduce((n, e) => n + (e.regular ? e.size : 0), 0);
  const corrupt: string[] = [];
  let checked = 0;
  let bytes = 0;
  for (const e of entries) {
    throwIfAborted(options.signal);
    const opened = openBlobSync(e.path);
    if (opened.kind === 'absent') continue; // removed meanwhile
    if (opened.kind === 'foreign') {
      corrupt.push(e.digest);
      evictCorrupt(ctx, e.digest, opened.ino);
      continue;
    }
    const { fd, st } = opened;
    try {
      const { digest, size } = await hashFd(fd, parseDigest(e.digest).algorithm, { signal: options.signal });
      checked++;
      bytes += size;
      if (digest !== e.digest) {
        corrupt.push(e.digest);
        evictCorrupt(ctx, e.digest, st.ino);
      }
    } finally {
      fs.closeSync(fd);
    }
    options.onProgress?.({ checked, bytes, totalBytes });
  }
  const sweptTemporaries = options.sweep();
  return { checked, bytes, corrupt, sweptTemporaries };
}
