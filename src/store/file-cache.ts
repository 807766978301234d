import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ALGORITHMS, digestOf, isAlgorithm, parseDigest, type DigestAlgorithm } from '../digest/index.js';
import { DigestMismatchError, InvalidArgumentError, MoteNotFoundError } from '../errors.js';
import { isErrno } from '../internal/errno.js';
import { asStoreError } from './errors.js';
import { checkSize } from './check.js';
import { verifyBytes } from '../digest/verifier.js';
import {
  CommitMode,
  type MoteCache,
  type MoteInfo,
  type MoteReaderAt,
  type MoteSource,
  type PruneOptions,
  type PruneResult,
  type PutExpectation,
  type StoreStats,
  type VerifyOnRead,
  type VerifyResult,
} from './types.js';
import { StoreContext } from './context.js';
import { StoreLayout } from './layout.js';
import { DEFAULT_MEDIA_TYPE, MoteIndex, NullIndex, type UseIndex } from './index-db.js';
import { IngestStream, ingestBytesSync, type IngestSpec } from './ingest.js';
import { publishSync } from './publish.js';
import { verifyFile } from '../digest/hash-file.js';
import { fsyncPathSync, lstatQuietSync, unlinkBestEffort, unlinkQuiet } from '../internal/fs.js';
import {
  MoteReadStream,
  verifyOpenMote,
  createReaderAt,
  evictCorrupt,
  openMoteSync,
  releaseMote,
  type OpenMote,
} from './reader.js';
import { prune } from './prune.js';
import { populateFromFallback, type FallbackProgress } from './fetch.js';
import { verifyStore, type VerifyOptions } from './verify.js';
import { walkBlobs, uniqueBytes } from './walk.js';

export interface FileMoteCacheOptions {
  /** Algorithm for `put` without an expected digest. Default `'sha256'`. */
  algorithm?: DigestAlgorithm;
  /** Read through a private hard link so removal or pruning mid-read is harmless. Default `true`. */
  linkOnRead?: boolean;
  /** A read source consulted on a miss (e.g. a registry). Never written to, never pruned. */
  fallback?: MoteCache;
  /**
   * Store fallback hits here (verified): one download per digest across every process sharing the root, resumed
   * after an interruption when the fallback is `RangeReadable`. Default `false`.
   */
  populateFromFallback?: boolean;
  /**
   * Progress of fallback downloads this process performs for `populateFromFallback` (several per second; throttle
   * in the listener). `received` counts the bytes in the partial download, resumed ones included; `size` is the
   * size the fallback announced (-1 if unknown). Not called while another process does the download. A throwing
   * listener is ignored.
   */
  onFallbackProgress?: (e: FallbackProgress) => void;
  /** fsync each file before its rename and the directory after it. Default `true`. */
  durable?: boolean;
  /** `'always'`: re-hash on every read; a corrupt mote fails the read and is evicted. Default `'never'`. */
  verifyOnRead?: VerifyOnRead;
  /** Age after which abandoned temporaries are swept (`initialize`, `verify`). Default one hour. */
  staleAfterMs?: number;
}

/** `get` reads motes up to this size synchronously in one go; larger ones are streamed. */
const SYNC_READ_LIMIT = 8 << 20;
/** `put` of a buffer up to this size is written synchronously; larger ones are streamed. */
const SYNC_WRITE_LIMIT = 8 << 20;
/** After the index failed to open, try again at most this often (the failure may have been transient). */
const INDEX_RETRY_MS = 60_000;

/**
 * A mote store in a directory that is also a valid OCI image layout. See the README for the guarantees; in
 * short: writes are verified then published atomically (durable by default), reads never see partial bytes,
 * several processes may share one root, and `prune` keeps it under a size by least recent use.
 *
 * The constructor touches nothing on disk; the first call (or `initialize()`) creates the layout.
 */
export class FileMoteCache implements MoteCache {
  readonly root: string;
  readonly algorithm: DigestAlgorithm;
  readonly linkOnRead: boolean;
  readonly fallback: MoteCache | undefined;
  readonly populateFromFallback: boolean;
  readonly durable: boolean;
  readonly verifyOnRead: VerifyOnRead;
  readonly staleAfterMs: number;
  readonly onFallbackProgress: ((e: FallbackProgress) => void) | undefined;

  readonly #layout: StoreLayout;
  readonly #ctx: StoreContext;
  #index: UseIndex | undefined;
  #indexFailedAt = 0;
  #ready = false;
  /**
   * Motes announced by createMote and not yet written, by digest, with how many announcements are outstanding:
   * several callers may announce the same digest, and each finished writer settles one announcement, so the
   * first writer to finish does not take the registration away from the others (and entries do not pile up
   * forever, as the original's did).
   */
  readonly #pending = new Map<string, { info: MoteInfo; outstanding: number }>();

  constructor(root: string, options: FileMoteCacheOptions = {}) {
    if (typeof root !== 'string' || root === '') throw new InvalidArgumentError('FileMoteCache: root must be a non-empty path');
    const algorithm = options.algorithm ?? 'sha256';
    if (!isAlgorithm(algorithm)) {
      throw new InvalidArgumentError(`FileMoteCache: algorithm must be one of ${Object.keys(ALGORITHMS).join(', ')}, got ${String(algorithm)}`);
    }
    this.algorithm = algorithm;
    this.linkOnRead = options.linkOnRead ?? true;
    this.fallback = options.fallback;
    if (this.fallback === (this as MoteCache)) throw new InvalidArgumentError('FileMoteCache: a cache cannot be its own fallback');
    this.populateFromFallback = options.populateFromFallback ?? false;
    this.durable = options.durable ?? true;
    this.verifyOnRead = options.verifyOnRead ?? 'never';
    if (this.verifyOnRead !== 'never' && this.verifyOnRead !== 'always') {
      throw new InvalidArgumentError(`FileMoteCache: verifyOnRead must be 'never' or 'always', got ${String(this.verifyOnRead)}`);
    }
    this.staleAfterMs = options.staleAfterMs ?? 3_600_000;
    this.onFallbackProgress = options.onFallbackProgress;
    if (this.onFallbackProgress !== undefined && typeof this.onFallbackProgress !== 'function') {
      throw new InvalidArgumentError('FileMoteCache: onFallbackProgress must be a function');
    }
    if (!(this.staleAfterMs >= 0)) throw new InvalidArgumentError('FileMoteCache: staleAfterMs must be >= 0');
    this.#layout = new StoreLayout(root);
    this.root = this.#layout.root;
    this.#ctx = new StoreContext(this.#layout, this.durable, () => this.#openIndex());
  }

  /** Creates the layout if missing and opens the index; synchronous and idempotent. */
  #context(): StoreContext {
    if (!this.#ready) {
      try {
        this.#layout.ensure(this.durable);
        // First use does what initialize() does: a library user who never calls it still gets stale
        // temporaries swept (once per instance: a readdir of .mote/tmp).
        this.#layout.sweepTemporaries(this.staleAfterMs);
      } catch (err) {
        throw asStoreError(err, this.root);
      }
      this.#ready = true;
    }
    return this.#ctx;
  }

  /**
   * The index, opened on first use. If it cannot be opened at all (not corruption, which heals itself, but say
   * `.mote/index.db` being a directory or unreadable), the store goes on without one: it is only a hint, and
   * blobs, reads, writes and prune (by mtime) do not need it.
   */
  #openIndex(): UseIndex {
    if (this.#index instanceof NullIndex && Date.now() - this.#indexFailedAt >= INDEX_RETRY_MS) this.#index = undefined;
    if (!this.#index) {
      try {
        this.#index = new MoteIndex(this.#layout.indexPath, this.durable);
      } catch (err) {
        this.#indexFailedAt = Date.now();
        process.emitWarning(
          `motecache: the mote index at ${this.#layout.indexPath} cannot be opened (${String(err)}); going on without it: media types read as ${DEFAULT_MEDIA_TYPE} and prune orders by file mtime`,
          { code: 'MOTECACHE_INDEX' },
        );
        this.#index = new NullIndex();
      }
    }
    return this.#index;
  }

  async initialize(): Promise<void> {
    this.#context();
    this.#openIndex();
    this.#layout.sweepTemporaries(this.staleAfterMs);
  }

  /** Always false: every change goes to disk at once, there is no in-memory state to fall behind. */
  isDirty(): boolean {
    return false;
  }

  /** Resolves false: nothing to reload (see isDirty). */
  async refresh(): Promise<boolean> {
    return false;
  }

  /** Nothing to write back (see isDirty). */
  async update(): Promise<void> {}

  moteRef(digest: string): string {
    return this.#layout.blobPath(digest);
  }

  async moteExists(digest: string): Promise<boolean> {
    const path = this.#layout.blobPath(digest);
    this.#context();
    // Only "no such file" means absent; EACCES and friends are errors, not "present" as in the original.
    if (fs.statSync(path, { throwIfNoEntry: false })) return true;
    return this.fallback ? this.fallback.moteExists(digest) : false;
  }

  async find(digest: string): Promise<MoteInfo | undefined> {
    const local = this.#findLocal(digest);
    if (local) return local;
    return this.fallback?.find(digest);
  }

  #findLocal(digest: string): MoteInfo | undefined {
    const path = this.#layout.blobPath(digest);
    const ctx = this.#context();
    const st = fs.statSync(path, { throwIfNoEntry: false });
    if (!st) return undefined;
    return { digest, size: st.size, mediaType: this.#mediaTypeOf(ctx, digest) };
  }

  #mediaTypeOf(ctx: StoreContext, digest: string): string {
    try {
      return ctx.index.get(digest)?.mediaType ?? DEFAULT_MEDIA_TYPE;
    } catch {
      return DEFAULT_MEDIA_TYPE; // the index is a hint; the blob is still there
    }
  }

  async createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo> {
    parseDigest(digest);
    checkSize(size);
    if (typeof mediaType !== 'string') throw new InvalidArgumentError('createMote: mediaType must be a string');
    const info: MoteInfo = { digest, size, mediaType: mediaType || DEFAULT_MEDIA_TYPE };
    const entry = this.#pending.get(digest);
    this.#pending.set(digest, { info, outstanding: (entry?.outstanding ?? 0) + 1 });
    return { ...info };
  }

  async moteWriter(digest: string): Promise<Writable> {
    const { algorithm } = parseDigest(digest);
    const ctx = this.#context();
    const info = this.#pending.get(digest)?.info;
    if (!info) throw new MoteNotFoundError(digest, 'no createMote() for this digest before moteWriter()');
    const writer = new IngestStream(ctx, { digest, algorithm, size: info.size, mediaType: info.mediaType });
    // Published: the index now has the media type; this writer settles one announcement. A failed writer
    // settles nothing, so the caller can retry.
    writer.once('finish', () => {
      const entry = this.#pending.get(digest);
      if (entry && --entry.outstanding <= 0) this.#pending.delete(digest);
    });
    return writer;
  }

  /** Opens the local copy and records the use, or returns undefined. */
  #openLocal(digest: string): OpenMote | undefined {
    const ctx = this.#context();
    const mote = openMoteSync(ctx, digest, this.linkOnRead);
    if (mote) ctx.recordUse(digest);
    return mote;
  }

  /**
   * Local copy, else the fallback: with populateFromFallback the fallback's bytes are first verified into this
   * store (one download per digest however many readers wait), then served from here.
   */
  async #openOrPopulate(digest: string): Promise<OpenMote | undefined> {
    const local = this.#openLocal(digest);
    if (local || !this.fallback || !this.populateFromFallback) return local;
    await this.#populate(digest);
    return this.#openLocal(digest);
  }

  /**
   * The fallback's bytes, verified into this store: one download per digest across processes, resumable
   * (fetch.ts). Resolves once the blob is published, by us or by another process.
   */
  #populate(digest: string): Promise<void> {
    return populateFromFallback(this.#context(), this.fallback!, digest, this.onFallbackProgress);
  }

  async moteReader(digest: string): Promise<Readable> {
    parseDigest(digest);
    const mote = await this.#openOrPopulate(digest);
    if (!mote) {
      if (this.fallback) return this.fallback.moteReader(digest);
      throw new MoteNotFoundError(digest);
    }
    const verify = this.verifyOnRead === 'always' ? { onCorrupt: () => evictCorrupt(this.#ctx, digest, mote.ino) } : undefined;
    return new MoteReadStream(mote, verify);
  }

  async moteReaderAt(digest: string): Promise<MoteReaderAt> {
    parseDigest(digest);
    const mote = await this.#openOrPopulate(digest);
    if (!mote) {
      if (this.fallback) return this.fallback.moteReaderAt(digest);
      throw new MoteNotFoundError(digest);
    }
    if (this.verifyOnRead === 'always') {
      // Random access cannot verify as it goes, so the whole mote is checked before the first byte is served.
      try {
        await verifyOpenMote(mote);
      } catch (err) {
        releaseMote(mote);
        if (err instanceof DigestMismatchError) evictCorrupt(this.#ctx, digest, mote.ino);
        throw err;
      }
    }
    return createReaderAt(mote);
  }

  /**
   * The whole mote as a Buffer. Small motes are read synchronously in one go (no read link: the descriptor
   * keeps the inode alive and nothing else runs meanwhile); larger ones go through `moteReader`.
   */
  async get(digest: string): Promise<Buffer> {
    const path = this.#layout.blobPath(digest);
    const ctx = this.#context();
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      return collect(await this.moteReader(digest));
    }
    let data: Buffer;
    try {
      const size = fs.fstatSync(fd).size;
      if (size > SYNC_READ_LIMIT) {
        fs.closeSync(fd);
        fd = -1;
        return collect(await this.moteReader(digest));
      }
      data = Buffer.allocUnsafe(size);
      let off = 0;
      while (off < size) {
        const n = fs.readSync(fd, data, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      if (off < size) data = data.subarray(0, off);
      if (this.verifyOnRead === 'always') {
        try {
          verifyBytes(data, { digest });
        } catch (err) {
          evictCorrupt(ctx, digest, fs.fstatSync(fd).ino);
          throw err;
        }
      }
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    ctx.recordUse(digest);
    return data;
  }

  /**
   * Stores data and returns its info. Bytes are hashed with the expected digest's algorithm (else the cache's),
   * checked against `expected`, and published atomically; a mismatch publishes nothing.
   */
  async put(data: MoteSource, expected: PutExpectation = {}): Promise<MoteInfo> {
    const spec = ingestSpec(expected, this.algorithm);
    const ctx = this.#context();
    if (data instanceof Uint8Array && data.byteLength <= SYNC_WRITE_LIMIT) return ingestBytesSync(ctx, data, spec);
    const source =
      data instanceof Uint8Array ? Readable.from([data]) : data instanceof Readable ? data : Readable.from(data as AsyncIterable<Uint8Array>);
    const writer = new IngestStream(ctx, spec);
    await pipeline(source, writer);
    return writer.info!;
  }

  /**
   * Adds an existing file. Its content is verified before it is published. `copy` keeps the source; `move`
   * renames it in (same filesystem) or copies then removes it (EXDEV), in both cases publishing atomically, and
   * gives it back untouched if verification fails.
   */
  async commitMote(sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void> {
    const { algorithm } = parseDigest(mote?.digest);
    checkSize(mote.size);
    if (mode !== CommitMode.Copy && mode !== CommitMode.Move) {
      throw new InvalidArgumentError(`commitMote: mode must be 'copy' or 'move', got ${String(mode)}`);
    }
    const ctx = this.#context();
    const mediaType = mote.mediaType || DEFAULT_MEDIA_TYPE;
    const blobPath = this.#layout.blobPath(mote.digest);
    let source: fs.Stats;
    try {
      source = fs.lstatSync(sourcePath);
    } catch (err) {
      throw asStoreError(err, this.root);
    }
    const existing = lstatQuietSync(blobPath);
    if (existing && existing.ino === source.ino && existing.dev === source.dev) {
      // The caller handed us the blob itself (e.g. `moteRef(d)`): there is nothing to add, and nothing to remove.
      ctx.recordWrite(mote.digest, mediaType);
      return;
    }
    if (existing) {
      // Already here: nothing to publish. Still check the source, so a wrong file is reported, not swallowed.
      await verifyFile(sourcePath, { digest: mote.digest, size: mote.size });
      ctx.recordWrite(mote.digest, mediaType); // first: a concurrent prune then sees the mote as just used
      if (mode === CommitMode.Move) unlinkQuiet(sourcePath);
      return;
    }
    const temp = this.#layout.tempPath('ingest');
    let movedIn = false; // the source itself now sits at `temp`
    try {
      // Only a plain file that nothing else links to may be taken over by rename. A symlink would publish a link
      // to the caller's file, and a hard-linked inode could be changed through its other name after we verified
      // it: those are copied instead (copyFile follows the link), and the source name is removed afterwards.
      if (mode === CommitMode.Move && source.isFile() && source.nlink === 1) {
        try {
          fs.renameSync(sourcePath, temp);
          movedIn = true;
        } catch (err) {
          if (!isErrno(err, 'EXDEV')) throw err;
        }
      }
      // Copy (or a move across filesystems): into the temporary first, never into the blob path.
      if (!movedIn) await fs.promises.copyFile(sourcePath, temp, fs.constants.COPYFILE_FICLONE);
      // Hash the temporary, not the source: the source could change between a check and a copy.
      await verifyFile(temp, { digest: mote.digest, size: mote.size });
      fs.chmodSync(temp, 0o444);
      if (this.durable) fsyncPathSync(temp);
      publishSync(ctx, temp, mote.digest);
    } catch (err) {
      if (movedIn) {
        try {
          fs.renameSync(temp, sourcePath); // give the caller's file back
        } catch {
          unlinkBestEffort(temp);
        }
      } else {
        unlinkBestEffort(temp);
      }
      throw asStoreError(err, this.root);
    }
    if (mode === CommitMode.Move && !movedIn) unlinkQuiet(sourcePath);
    ctx.recordWrite(mote.digest, mediaType);
  }

  /**
   * Calls `listener` with the digests of motes this instance's store removed in this process (`removeMote`,
   * `prune`, eviction of corrupt motes by `verify` or a verifying read), after the removal. Use it to drop
   * metadata that points into the store. Returns an unsubscribe function. Listener errors are reported as a
   * process warning and never fail the removal.
   */
  onRemoved(listener: (digests: readonly string[]) => void): () => void {
    this.#ctx.removedListeners.add(listener);
    return () => this.#ctx.removedListeners.delete(listener);
  }

  async removeMote(digest: string): Promise<void> {
    const path = this.#layout.blobPath(digest);
    const ctx = this.#context();
    unlinkQuiet(path);
    // Announcements (createMote) are left alone: another caller may be about to write this digest.
    ctx.forget(digest);
  }

  async prune(maxSize: number, options: PruneOptions = {}): Promise<PruneResult> {
    return prune(this.#context(), maxSize, options);
  }

  /** Every mote in this store (not the fallback), in no particular order. */
  async *list(): AsyncIterable<MoteInfo> {
    const ctx = this.#context();
    let meta: Map<string, { mediaType: string }>;
    try {
      meta = ctx.index.all();
    } catch {
      meta = new Map();
    }
    for (const e of walkBlobs(this.#layout)) {
      yield { digest: e.digest, size: e.size, mediaType: meta.get(e.digest)?.mediaType ?? DEFAULT_MEDIA_TYPE };
    }
  }

  /** Number of motes and bytes on disk (each inode once). */
  async stats(): Promise<StoreStats> {
    return uniqueBytes(walkBlobs(this.#context().layout));
  }

  /** Re-hashes every mote, evicts corrupt ones and sweeps stale temporaries. */
  async verify(options: Omit<VerifyOptions, 'staleAfterMs'> = {}): Promise<VerifyResult> {
    return verifyStore(this.#context(), { ...options, staleAfterMs: this.staleAfterMs });
  }

  /** Closes the index. The instance reopens it if used again. */
  async close(): Promise<void> {
    this.#index?.close();
    this.#index = undefined;
  }
}

function ingestSpec(expected: PutExpectation, algorithm: DigestAlgorithm): IngestSpec {
  const spec: IngestSpec = { algorithm, size: -1 };
  if (expected.digest !== undefined) {
    spec.digest = expected.digest;
    spec.algorithm = parseDigest(expected.digest).algorithm;
  }
  if (expected.size !== undefined) {
    checkSize(expected.size);
    spec.size = expected.size;
  }
  if (expected.mediaType !== undefined) spec.mediaType = expected.mediaType;
  return spec;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
