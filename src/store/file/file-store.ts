/**
 * The local file store: every operation of a `FileMoteCache` on its own directory, without any source to read
 * through (`FileMoteCache` adds that, see `../file-cache.ts`). Each concern lives in its own module (ingest,
 * commit, reader, prune, verify, sweep); this class holds the settings and the context they share, and creates
 * the layout on first use.
 */
import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDigest, type DigestAlgorithm } from '../../digest/index.js';
import { DigestMismatchError, MoteNotFoundError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { asAbortError, destroyOnAbort, throwIfAborted } from '../../internal/abort.js';
import { unlinkQuiet } from '../../internal/fs.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';
import type {
  CommitMode,
  MoteInfo,
  MoteReaderAt,
  MoteReadOptions,
  MoteSource,
  PruneOptions,
  PruneResult,
  PutExpectation,
  StoreStats,
  VerifyOnRead,
  VerifyOptions,
  VerifyResult,
} from '../types.js';
import type { MoteProvider } from '../roles.js';
import { Announcements } from './announcements.js';
import { checkMediaType, checkSize, resolveSettings, type FileStoreSettings } from './check.js';
import { checkCommitArguments, commitMote } from './commit.js';
import { StoreContext, registerStore } from './context.js';
import { asStoreError } from './errors.js';
import { IngestStream, ingestBytesSync, ingestSpec } from './ingest.js';
import { MoteLease } from './lease.js';
import { LazyMoteIndex } from './mote-index.js';
import { StorePaths } from './paths.js';
import { prune } from './prune.js';
import { BufferStream, readWholeSync, SMALL_STREAM_LIMIT } from './read-whole.js';
import { MoteReadStream, createReaderAt, openMoteSync, releaseMote, verifyOpenMote, type OpenMote } from './reader.js';
import { clearBlobPath, evictQuietly } from './blob-file.js';
import { sweepTemporaries, type Sweeper } from './sweep.js';
import { verifyStore } from './verify.js';
import { listMotes, partialBytes, uniqueBytes, walkBlobs } from './walk.js';

/** `put` of a buffer up to this size is written synchronously; larger ones are streamed. */
const SYNC_WRITE_LIMIT = 8 << 20;

export class FileStore {
  readonly root: string;
  readonly algorithm: DigestAlgorithm;
  readonly linkOnRead: boolean;
  readonly durable: boolean;
  readonly verifyOnRead: VerifyOnRead;
  readonly staleAfterMs: number;

  readonly #paths: StorePaths;
  readonly #index: LazyMoteIndex;
  readonly #ctx: StoreContext;
  readonly #sweepers: readonly Sweeper[];
  readonly #announced = new Announcements();
  #ready = false;
  /** Why the layout could not be made (a cache this user may only read): writes fail with it, reads go on. */
  #readOnly: unknown;

  /** `sweepers` also run whenever temporaries are swept (first use, `initialize`, `verify`). */
  constructor(root: string, settings: FileStoreSettings = {}, sweepers: readonly Sweeper[] = []) {
    const resolved = resolveSettings(root, settings);
    this.algorithm = resolved.algorithm;
    this.linkOnRead = resolved.linkOnRead;
    this.durable = resolved.durable;
    this.verifyOnRead = resolved.verifyOnRead;
    this.staleAfterMs = resolved.staleAfterMs;
    this.#paths = new StorePaths(root);
    this.root = this.#paths.root;
    this.#sweepers = sweepers;
    this.#index = new LazyMoteIndex(this.#paths.indexPath, this.durable);
    this.#ctx = new StoreContext(this.#paths, this.durable, () => this.#index.get(), () => void this.#writable());
    // The store's own reads (FileStore's methods, whatever a subclass overrides): the pull-through reads use them.
    const reads: MoteProvider = {
      moteExists: (d) => FileStore.prototype.moteExists.call(this, d),
      find: (d) => FileStore.prototype.find.call(this, d),
      moteRef: (d) => FileStore.prototype.moteRef.call(this, d),
      moteReader: (d) => FileStore.prototype.moteReader.call(this, d),
      moteReaderAt: (d) => FileStore.prototype.moteReaderAt.call(this, d),
    };
    registerStore(this, { ctx: this.#ctx, reads });
  }

  /**
   * Creates the layout if missing; synchronous and idempotent. A root that exists but may not be written to (a
   * shared cache this user may only read, a read-only mount, an OCI layout without `.mote/`) is still read: reads
   * need no write (readers fall back to reading the blob without a private link), and every write fails with the
   * error that kept the layout from being made.
   */
  #context(): StoreContext {
    if (!this.#ready) {
      try {
        this.#paths.ensure(this.durable);
        // First use does what initialize() does: a library user who never calls it still gets stale
        // temporaries swept (once per instance: a readdir of .mote/tmp).
        this.#sweep();
      } catch (err) {
        if (!isErrno(err, 'EACCES', 'EPERM', 'EROFS') || !isDirectory(this.root)) throw asStoreError(err, this.root);
        this.#readOnly = err;
      }
      this.#ready = true;
    }
    return this.#ctx;
  }

  /** The context for a write: the error that kept the layout from being made, if it could not be. */
  #writable(): StoreContext {
    const ctx = this.#context();
    if (this.#readOnly !== undefined) throw this.#readOnly;
    return ctx;
  }

  /** `reclaim`: see {@link Sweeper} (temporaries in `.mote/tmp/` go by age either way: their owner is a pid). */
  #sweep(reclaim = false): number {
    return sweepTemporaries(this.#paths, this.staleAfterMs, this.#sweepers, reclaim);
  }

  async initialize(): Promise<void> {
    this.#context();
    this.#index.get();
    this.#sweep();
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
    return this.#paths.blobPath(digest);
  }

  async moteExists(digest: string): Promise<boolean> {
    const path = this.#paths.blobPath(digest);
    this.#context();
    // Only "no such file" means absent; EACCES and friends are errors, not "present" as in the original. Only a
    // regular file is a mote: a symlink or a directory at the blob path is not (never followed: lstat).
    return fs.lstatSync(path, { throwIfNoEntry: false })?.isFile() === true;
  }

  async find(digest: string): Promise<MoteInfo | undefined> {
    const path = this.#paths.blobPath(digest);
    const ctx = this.#context();
    const st = fs.lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) return undefined;
    let mediaType = DEFAULT_MEDIA_TYPE;
    try {
      mediaType = ctx.index.get(digest)?.mediaType ?? DEFAULT_MEDIA_TYPE;
    } catch {
      /* the index is a hint; the blob is still there */
    }
    return { digest, size: st.size, mediaType };
  }

  /** Opens the local copy for reading and records the use; `MoteNotFoundError` when it is not here. */
  #open(digest: string): { ctx: StoreContext; mote: OpenMote } {
    parseDigest(digest);
    const ctx = this.#context();
    const mote = openMoteSync(ctx, digest, this.linkOnRead);
    if (!mote) throw new MoteNotFoundError(digest);
    ctx.recordUse(digest);
    return { ctx, mote };
  }

  async moteReader(digest: string, options: MoteReadOptions = {}): Promise<Readable> {
    parseDigest(digest);
    const { signal } = options;
    throwIfAborted(signal);
    // A small mote is read whole at open (no read link needed: nothing can change bytes already in memory). With
    // verifyOnRead, a corrupt one is evicted already and the stream fails, as a streamed read does at its end.
    try {
      const small = readWholeSync(this.#context(), digest, this.verifyOnRead === 'always', SMALL_STREAM_LIMIT);
      if (small) return destroyOnAbort(new BufferStream(small), signal);
    } catch (err) {
      if (!(err instanceof DigestMismatchError)) throw err;
      return new BufferStream(undefined, err);
    }
    const { ctx, mote } = this.#open(digest);
    const verify = this.verifyOnRead === 'always' ? { onCorrupt: () => evictQuietly(ctx, digest, mote.ino) } : undefined;
    return destroyOnAbort(new MoteReadStream(mote, verify), signal);
  }

  async moteReaderAt(digest: string): Promise<MoteReaderAt> {
    const { ctx, mote } = this.#open(digest);
    if (this.verifyOnRead === 'always') {
      // Random access cannot verify as it goes, so the whole mote is checked before the first byte is served.
      try {
        await verifyOpenMote(mote);
      } catch (err) {
        releaseMote(mote);
        if (err instanceof DigestMismatchError) evictQuietly(ctx, digest, mote.ino);
        throw err;
      }
    }
    return createReaderAt(mote);
  }

  /**
   * The whole mote as a Buffer. Small local motes are read synchronously in one go (`readWholeSync`); larger ones,
   * and misses (which a subclass may read through a source), go through `moteReader`.
   */
  async get(digest: string, options: MoteReadOptions = {}): Promise<Buffer> {
    parseDigest(digest);
    throwIfAborted(options.signal);
    const small = readWholeSync(this.#context(), digest, this.verifyOnRead === 'always');
    if (small) return small;
    const chunks: Buffer[] = [];
    for await (const chunk of await this.moteReader(digest, options)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo> {
    parseDigest(digest);
    checkSize(size);
    checkMediaType('createMote', mediaType);
    const info: MoteInfo = { digest, size, mediaType: mediaType || DEFAULT_MEDIA_TYPE };
    this.#announced.announce(info);
    return { ...info };
  }

  async moteWriter(digest: string): Promise<Writable> {
    const { algorithm } = parseDigest(digest);
    const ctx = this.#context();
    const info = this.#announced.get(digest);
    if (!info) throw new MoteNotFoundError(digest, 'no createMote() for this digest before moteWriter()');
    this.#writable();
    const writer = new IngestStream(ctx, { digest, algorithm, size: info.size, mediaType: info.mediaType });
    // Published: the index now has the media type; this writer settles one announcement.
    writer.once('finish', () => this.#announced.settle(digest));
    return writer;
  }

  /**
   * Stores data and returns its info. Bytes are hashed with the expected digest's algorithm (else the store's),
   * checked against `expected`, and published atomically; a mismatch publishes nothing.
   */
  async put(data: MoteSource, expected: PutExpectation = {}): Promise<MoteInfo> {
    const spec = ingestSpec(expected, this.algorithm);
    const { signal } = expected;
    throwIfAborted(signal);
    const ctx = this.#writable();
    if (data instanceof Uint8Array && data.byteLength <= SYNC_WRITE_LIMIT) return ingestBytesSync(ctx, data, spec);
    const source =
      data instanceof Uint8Array ? Readable.from([data]) : data instanceof Readable ? data : Readable.from(data as AsyncIterable<Uint8Array>);
    const writer = new IngestStream(ctx, spec);
    try {
      await pipeline(source, writer, signal ? { signal } : {});
    } catch (err) {
      // Published before the abort landed: the put is done.
      if (signal?.aborted && writer.info) return writer.info;
      // The writer removes its temporary when its last fs call comes back: settle after that, not before.
      if (!writer.closed) await new Promise((resolve) => writer.once('close', resolve));
      throw asAbortError(err, signal);
    }
    return writer.info!;
  }

  async commitMote(sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void> {
    checkCommitArguments(mote, mode); // before #context(): a bad digest must not even create the layout
    await commitMote(this.#writable(), sourcePath, mote, mode);
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
    const path = this.#paths.blobPath(digest);
    const ctx = this.#writable();
    try {
      unlinkQuiet(path);
    } catch (err) {
      // A directory at the blob path (never a mote, but still in the way of one).
      if (!isErrno(err, 'EISDIR', 'EPERM') || !fs.lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) throw err;
      clearBlobPath(ctx, path);
    }
    // Announcements (createMote) are left alone: another caller may be about to write this digest.
    ctx.forget(digest);
  }

  /** Also removes abandoned partial downloads (not store bytes, see `stats`), whatever their age. */
  async prune(maxSize: number, options: PruneOptions = {}): Promise<PruneResult> {
    const ctx = this.#writable();
    this.#sweep(true);
    return prune(ctx, maxSize, options);
  }

  /** Every mote in this store (never a source it reads through), in no particular order. */
  list(): AsyncIterable<MoteInfo> {
    return listMotes(this.#context());
  }

  /** Number of motes and bytes on disk (each inode once), and the bytes of partial downloads, apart. */
  async stats(): Promise<StoreStats> {
    const { paths } = this.#context();
    return { ...uniqueBytes(walkBlobs(paths)), partialBytes: partialBytes(paths) };
  }

  /** Re-hashes every mote, evicts corrupt ones, sweeps stale temporaries and abandoned partial downloads. */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    return verifyStore(this.#context(), { ...options, sweep: () => this.#sweep(true) });
  }

  /**
   * A lease: motes held with `lease.hold(digest)` are left alone by `prune` (in every process) until
   * `lease.release()` (or `await using`). What a pull holds between fetching motes and writing them out.
   */
  lease(): MoteLease {
    return new MoteLease(this.#ctx); // touches nothing until the first hold
  }

  /** Closes the index. The instance reopens it if used again. */
  async close(): Promise<void> {
    this.#index.close();
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
