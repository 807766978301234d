/** The data types of the mote store's contracts (the contracts themselves are in `roles.ts`). */
import type { Readable } from 'node:stream';

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
  /**
   * Also removes every mote not used (written or read through motecache, by any process) for longer than this many
   * milliseconds, whatever the size: `prune(Number.MAX_SAFE_INTEGER, { olderThanMs })` removes by age alone. The
   * same motes are spared as by size (linked elsewhere, open, used since the prune began).
   */
  olderThanMs?: number;
}

export interface PruneResult {
  /** Motes removed. */
  removed: number;
  /** Their digests (`FileMoteCache` reports them; a store that does not leaves this out). */
  removedDigests?: string[];
  /** Bytes those removals released on disk. */
  freedBytes: number;
  /** Bytes the store still holds (each inode counted once). */
  remainingBytes: number;
  /**
   * Motes prune would have removed but kept because their file has other links: an OCI layout `pull` hard-linked
   * it into, a reader's private link, a lease of a pull in progress. Removing the store's name would free nothing
   * while another link holds the bytes; they can go once the other links are gone. With `linkedBytes`, their
   * bytes (counted in `remainingBytes`). Reported by `FileMoteCache`; a store that does not leaves them out.
   */
  linkedCount?: number;
  linkedBytes?: number;
}

/** What `put` may be given. */
export type MoteSource = Uint8Array | Readable | AsyncIterable<Uint8Array>;

export interface PutExpectation {
  /** Verify the content against this digest (its algorithm is used for hashing). */
  digest?: string;
  /** Verify the content has this many bytes. */
  size?: number;
  /** Stored with the mote; default `application/octet-stream`. Printable ASCII, at most 255 characters. */
  mediaType?: string;
  /**
   * Stops the write: already aborted, nothing is written; fired while the bytes stream in, the write fails with
   * `AbortError`, its temporary is removed before the promise settles, and nothing is published.
   */
  signal?: AbortSignal | undefined;
}

/** Options of the reads that take them (`moteReader`, and `get` of a file store). */
export interface MoteReadOptions {
  /**
   * Stops the read: already aborted, the call rejects with `AbortError` before anything is opened (or fetched);
   * fired later, the stream is destroyed with `AbortError` and releases what it holds (descriptor, read link,
   * connection). A pull-through download it waits for goes on for its other waiters.
   */
  signal?: AbortSignal | undefined;
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

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Called after each mote with running totals. */
  onProgress?: (progress: { checked: number; bytes: number; totalBytes: number }) => void;
}

export interface StoreStats {
  count: number;
  /** Bytes of the motes on disk, each inode counted once. */
  bytes: number;
  /**
   * Bytes of partial pull-through downloads on disk (not motes: never served, not in `bytes`). Those no live
   * download holds are removed by `prune` and `verify`.
   */
  partialBytes: number;
}

/** When reads re-hash the content. */
export type VerifyOnRead = 'never' | 'always';
