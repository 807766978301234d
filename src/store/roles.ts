/**
 * The mote store's contracts, as containerd splits its content store: small role interfaces, each stating the
 * guarantee every implementation keeps, united in {@link MoteCache}. Every method that takes a digest validates it
 * first and rejects a bad one with `InvalidDigestError` before touching any path or the network.
 *
 * One conformance suite per contract checks them (`test/conformance/`): `moteProviderConformance` for the read role
 * (run by every store and by the registry source), `moteCacheConformance` for the whole (run by every store).
 */
import type { Readable, Writable } from 'node:stream';
import type {
  CommitMode,
  MoteInfo,
  MoteReaderAt,
  MoteReadOptions,
  PruneOptions,
  PruneResult,
  StoreStats,
  VerifyOptions,
  VerifyResult,
} from './types.js';

/**
 * The read role: what is there, and its bytes.
 *
 * Guarantee: a reader only ever serves a mote's whole, verified content. Either the bytes were verified when they
 * were stored (a local store), or the reader verifies them as they stream and fails at the end with
 * `SizeMismatchError`/`DigestMismatchError` instead of ending cleanly (a registry). A mote that is not there is
 * `false`/`undefined` for `moteExists`/`find` and `MoteNotFoundError` for the readers.
 */
export interface MoteProvider {
  /** True if the mote is here. */
  moteExists(digest: string): Promise<boolean>;
  /** The mote's info, or `undefined`. */
  find(digest: string): Promise<MoteInfo | undefined>;
  /** Where the mote lives (a path for file stores, a URL for a registry). Does not check existence. */
  moteRef(digest: string): string;
  /**
   * A stream of the mote's bytes. `signal`: already aborted, rejects with `AbortError` before anything is opened;
   * fired later, the stream is destroyed with `AbortError` (see {@link MoteReadOptions}).
   */
  moteReader(digest: string, options?: MoteReadOptions): Promise<Readable>;
  /** Random access to the mote. Close it (or `await using` it). */
  moteReaderAt(digest: string): Promise<MoteReaderAt>;
}

/**
 * An optional capability of a provider: streaming a mote from a byte offset, unverified (the caller holds the
 * bytes before `offset` and verifies the whole). A pull-through cache whose source has it resumes an interrupted
 * download from where it stopped (a registry, by `Range`) instead of starting over, and hashes every byte once.
 * `isRangeReadable` tells whether a provider has it.
 */
export interface RangeReadable {
  /** The mote's bytes from `offset` (0 ≤ offset ≤ size) to the end; `MoteNotFoundError` if it is not there. */
  moteReaderFrom(digest: string, offset: number, options?: { signal?: AbortSignal }): Promise<Readable>;
}

export function isRangeReadable<T>(provider: T): provider is T & RangeReadable {
  return typeof provider === 'object' && provider !== null && typeof (provider as Partial<RangeReadable>).moteReaderFrom === 'function';
}

/**
 * An optional capability of a provider that reads one mote from more than one origin (a registry and its mirrors):
 * told that the bytes it served for a mote failed verification, it stops reading that mote from the origins that
 * served them. Returns true when a read from the start would now come from another origin, false when nothing
 * changes (the bytes came from the origin of last resort: the failure stands). True can be returned only as often
 * as there are origins, so a caller that reads again on true ends. `hasOtherOrigins` tells whether a provider has it.
 */
export interface OriginRejecting {
  rejectServed(digest: string): boolean;
}

export function hasOtherOrigins<T>(provider: T): provider is T & OriginRejecting {
  return typeof provider === 'object' && provider !== null && typeof (provider as Partial<OriginRejecting>).rejectServed === 'function';
}

/**
 * The write role: adding motes.
 *
 * Guarantee: bytes are verified (size and digest) before they are published, and published atomically; a failed
 * write (mismatch, full disk, destroyed stream) publishes nothing and leaves no temporary. Concurrent writers of
 * one digest all succeed with one copy.
 */
export interface MoteIngester {
  /** Announces a mote that is about to be written; `size` -1 means unknown (only the digest is then checked). */
  createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo>;
  /**
   * A writer for an announced mote (else `MoteNotFoundError`). `finish` fires only after the mote is published; on
   * a size or digest mismatch the writer fails with `SizeMismatchError`/`DigestMismatchError`. So
   * `await pipeline(source, await cache.moteWriter(d))` resolves after the commit or rejects with the typed error.
   */
  moteWriter(digest: string): Promise<Writable>;
  /** Adds an existing file after verifying it against `mote`. `copy` keeps the source, `move` removes it. */
  commitMote(sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void>;
}

/**
 * The manage role: the store's life and size.
 *
 * Guarantee: removal is idempotent and never breaks a read in progress; `prune` removes least recently used motes
 * first and never one that is being read; `verify` evicts every mote whose bytes no longer match its name.
 */
export interface MoteManager {
  /** Creates whatever the store needs and sweeps stale temporaries. Idempotent. */
  initialize(): Promise<void>;
  /** Parity with the original interface: whether in-memory state is behind the store. */
  isDirty(): boolean;
  /** Parity with the original interface: reloads state; resolves `true` if anything changed. */
  refresh(): Promise<boolean>;
  /** Parity with the original interface: writes back in-memory state. */
  update(): Promise<void>;
  /** Removes the mote from this store (never from a source it reads through). Idempotent. */
  removeMote(digest: string): Promise<void>;
  /**
   * Removes least recently used motes until the store holds at most `maxSize` bytes, and with `olderThanMs` every
   * mote unused for longer than that too.
   */
  prune(maxSize: number, options?: PruneOptions): Promise<PruneResult>;
  /** Every mote in this store, in no particular order. */
  list(): AsyncIterable<MoteInfo>;
  /** Number of motes and bytes held (each inode once). */
  stats(): Promise<StoreStats>;
  /** Re-hashes every mote, evicts corrupt ones and sweeps stale temporaries. */
  verify(options?: VerifyOptions): Promise<VerifyResult>;
}

/** A content-addressed store of motes: the three roles together. */
export interface MoteCache extends MoteProvider, MoteIngester, MoteManager {}
