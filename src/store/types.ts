import type { Readable, Writable } from 'node:stream';

/** What the cache knows of a mote (a blob addressed by its digest). */
export interface MoteInfo {
  /** `<algorithm>:<encoded>`, e.g. `sha256:…`. */
  digest: string;
  /** Size in bytes. */
  size: number;
  /** OCI media type given when the mote was written (`application/octet-stream` when none was given). */
  mediaType: string;
}

/** How {@link MoteCache.commitMote} treats its source file. */
export const CommitMode = {
  /** Keep the source file. */
  Copy: 'copy',
  /** Remove the source file once the mote is published (works across filesystems, atomically). */
  Move: 'move',
} as const;
export type CommitMode = (typeof CommitMode)[keyof typeof CommitMode];

/** Random access to one mote. Close it (or use `await using`) to release the file and its read link. */
export interface MoteReaderAt extends AsyncDisposable {
  /** Size of the mote in bytes. */
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `buffer[offset…]`; resolves to the count read (0 at the end). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface PruneOptions {
  signal?: AbortSignal;
}

export interface PruneResult {
  /** Motes removed. */
  removed: number;
  /** Bytes those removals released on disk. */
  freedBytes: number;
  /** Bytes the store still holds (each inode counted once). */
  remainingBytes: number;
}

/**
 * A content-addressed store of motes. Every method that takes a digest validates it first and rejects a bad one
 * with `InvalidDigestError` before touching any path.
 *
 * Guarantees every implementation keeps (checked by one conformance suite, `test/conformance.ts`):
 * - a mote is either wholly present and verified or absent: readers never see partial or unverified bytes;
 * - writers verify size and digest before publishing, and a failed write publishes nothing;
 * - removal is idempotent; a missing mote is `MoteNotFoundError` on read.
 */
export interface MoteCache {
  /** Creates whatever the store needs and sweeps stale temporaries. Idempotent. */
  initialize(): Promise<void>;
  /** Parity with the original interface: whether in-memory state is behind the store. */
  isDirty(): boolean;
  /** Parity with the original interface: reloads state; resolves `true` if anything changed. */
  refresh(): Promise<boolean>;
  /** Parity with the original interface: writes back in-memory state. */
  update(): Promise<void>;
  /** True if the mote is present here (or in a fallback). */
  moteExists(digest: string): Promise<boolean>;
  /** The mote's info from this cache, else from a fallback, else `undefined`. */
  find(digest: string): Promise<MoteInfo | undefined>;
  /** Where the mote lives (a path for file stores, `''` where there is none). Does not check existence. */
  moteRef(digest: string): string;
  /** Announces a mote that is about to be written; `size` -1 means unknown (only the digest is then checked). */
  createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo>;
  /**
   * A writer for an announced mote (else `MoteNotFoundError`). `finish` fires only after the mote is published;
   * on a size or digest mismatch the writer fails with `SizeMismatchError`/`DigestMismatchError`, publishes
   * nothing and leaves no temporary. `await pipeline(source, await cache.moteWriter(d))` therefore resolves after
   * the commit or rejects with the typed error. Concurrent writers of one digest all succeed with one copy.
   */
  moteWriter(digest: string): Promise<Writable>;
  /** A stream of the mote's bytes; `MoteNotFoundError` if it is nowhere. */
  moteReader(digest: string): Promise<Readable>;
  /** Random access to the mote; `MoteNotFoundError` if it is nowhere. */
  moteReaderAt(digest: string): Promise<MoteReaderAt>;
  /** Adds an existing file after verifying it against `mote`. `copy` keeps the source, `move` removes it. */
  commitMote(sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void>;
  /** Removes the mote from this cache (never from a fallback). Idempotent. */
  removeMote(digest: string): Promise<void>;
  /** Removes least recently used motes until the store holds at most `maxSize` bytes. */
  prune(maxSize: number, options?: PruneOptions): Promise<PruneResult>;
}

/**
 * An optional capability of a {@link MoteCache}: streaming a mote from a byte offset. A `FileMoteCache` whose
 * fallback has it resumes an interrupted fallback download from where it stopped (e.g. a registry, by `Range`)
 * instead of starting over. `isRangeReadable` tells whether a cache has it.
 */
export interface RangeReadable {
  /** The mote's bytes from `offset` (0 ≤ offset ≤ size) to the end; `MoteNotFoundError` if it is not there. */
  moteReaderFrom(digest: string, offset: number, options?: { signal?: AbortSignal }): Promise<Readable>;
}

export function isRangeReadable(cache: unknown): cache is MoteCache & RangeReadable {
  return typeof cache === 'object' && cache !== null && typeof (cache as Partial<RangeReadable>).moteReaderFrom === 'function';
}

/** What `put` may be given. */
export type MoteSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface PutExpectation {
  /** Verify the content against this digest (its algorithm is used for hashing). */
  digest?: string;
  /** Verify the content has this many bytes. */
  size?: number;
  /** Stored with the mote; default `application/octet-stream`. */
  mediaType?: string;
}

export interface VerifyResult {
  /** Motes re-hashed. */
  checked: number;
  /** Bytes re-hashed. */
  bytes: number;
  /** Digests whose content was wrong; they have been evicted. */
  corrupt: string[];
  /** Abandoned temporaries removed. */
  sweptTemporaries: number;
}

export interface StoreStats {
  count: number;
  /** Bytes on disk, each inode counted once. */
  bytes: number;
}

/** When reads re-hash the content. */
export type VerifyOnRead = 'never' | 'always';
