/**
 * Leases, in containerd's manner: a process declares the motes it is using (a pull, between fetching them and
 * writing them out), and `prune` leaves them alone for as long as they are held, in every process.
 *
 * A lease is a directory `.mote/tmp/<pid>-<random>.lease/` holding a hard link to each held mote. The link is the
 * whole mechanism: prune never removes a blob whose inode has other links (that is how it already spares motes
 * being read), a held mote stays readable through the lease's own link even if its blob path is removed
 * (`removeMote`, `verify`'s eviction), and a lease left by a crash is an ordinary temporary, swept with the others
 * once its owner is dead and it is stale. Where hard links are refused (a filesystem without them, a blob's link
 * limit) a hold falls back to this process's open-reader registry: prune in this process still spares the mote,
 * others only by its recent use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDigest } from '../../digest/index.js';
import { ErrorCategory, MoteError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { openReaders, type StoreContext } from './context.js';
import { asStoreError } from './errors.js';
import { evictQuietly, lstatBlobSync } from './blob-file.js';

const LINK_REFUSED = ['EMLINK', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV'];

export class MoteLease implements AsyncDisposable {
  readonly #ctx: StoreContext;
  readonly #dir: string;
  /** Held digests: the path to read each through (the lease's link, or the blob path when linking was refused). */
  readonly #held = new Map<string, string>();
  #created = false;
  #released = false;

  constructor(ctx: StoreContext) {
    this.#ctx = ctx;
    this.#dir = ctx.paths.tempPath('lease');
  }

  /**
   * Holds the mote if it is in the store: true from then on until `release()`, and prune (in any process) leaves it;
   * false if it is not in the store (then fetch or write it, and hold it again). Idempotent; synchronous.
   */
  hold(digest: string): boolean {
    const { algorithm, encoded } = parseDigest(digest);
    if (this.#released) throw new MoteError('ERR_MOTE_LEASE_RELEASED', 'the lease was released', { category: ErrorCategory.Invalid });
    if (this.#held.has(digest)) return true;
    const blob = this.#ctx.paths.blobPath(digest);
    const link = path.join(this.#dir, `${algorithm}-${encoded}`);
    try {
      if (!this.#created) {
        this.#ctx.ensure();
        fs.mkdirSync(this.#dir, { mode: 0o700 });
        this.#created = true;
      }
      fs.linkSync(blob, link);
      // link() does not follow a symlink: the lease's link names whatever the blob path held. Only a regular file is
      // a mote; anything else (a symlink, a FIFO) is evicted and the mote reported missing, to be fetched again.
      const st = fs.lstatSync(link);
      if (!st.isFile()) {
        fs.unlinkSync(link);
        evictQuietly(this.#ctx, digest, st.ino);
        return false;
      }
      this.#held.set(digest, link);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      if (!isErrno(err, ...LINK_REFUSED)) throw asStoreError(err, this.#ctx.paths.root);
      // Refused: a directory at the blob path (EPERM), or a filesystem without hard links.
      const entry = lstatBlobSync(blob);
      if (entry.kind === 'absent') return false;
      if (entry.kind === 'foreign') {
        evictQuietly(this.#ctx, digest, entry.ino);
        return false;
      }
      openReaders.acquire(blob);
      this.#held.set(digest, blob);
    }
    // A prune whose scan started before this hold sees the use and spares the mote too.
    this.#ctx.recordUse(digest);
    return true;
  }

  /** A path to the held mote's bytes that stays valid until `release()` (undefined if it is not held). */
  pathOf(digest: string): string | undefined {
    return this.#held.get(digest);
  }

  /** Lets go of every held mote. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const p of this.#held.values()) {
      if (p.startsWith(this.#dir)) continue;
      openReaders.release(p);
    }
    this.#held.clear();
    if (this.#created) fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }
}
