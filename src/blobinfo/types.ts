/**
 * The blob-info cache contract: where a blob has been seen, and which digests are variants (compressed,
 * encrypted, ...: "transformed") of one another. A port of containers/image's `BlobInfoCache` as the original
 * (`bicbackend`) adapted it, with "transformer" for "compressor".
 */

/** Transformer name of a digest nothing was recorded for; recording it clears a recorded name. */
export const UNKNOWN_TRANSFORMER = 'unknown';
/** Transformer name of a digest known to be untransformed (an ordinary value). */
export const UNTRANSFORMED = 'untransformed';

/** One place a blob (or, with substitution, one of its variants) can be found. */
export interface CandidateLocation {
  /** The digest found there: the one asked for, or a sibling variant / the untransformed digest. */
  digest: string;
  /** Recorded transformer name of `digest`, or `'unknown'`. */
  transformerName: string;
  /** The opaque location string given to `recordKnownLocation` (for layers: a canonical reference). */
  location: string;
  /** When it was last recorded (any process), millisecond resolution; ordering uses microseconds. */
  lastSeen: Date;
}

export interface CandidateOptions {
  /** Also return locations of sibling variants and of the untransformed digest. */
  canSubstitute: boolean;
  /** Return at most this many (the first ones in the order below). Default: all. */
  limit?: number;
}

/** One `recordKnownLocation` call, for the batch form. */
export interface KnownLocation {
  transport: string;
  scope: string;
  digest: string;
  location: string;
}

/**
 * Where blobs can be found and how their variants relate. Every method is async (so that the same contract can
 * be served by a shared store) and validates its digests first (`InvalidDigestError`, nothing stored).
 *
 * Guarantees, for every backend:
 * - **Read your writes**: a read sees every write made earlier through the same instance, awaited or not.
 * - **Ordering** of `candidateLocations` is total and stable: the asked digest's own locations first, newest
 *   first; then (with `canSubstitute`) the sibling variants' locations, newest first across siblings; then the
 *   untransformed digest's locations, newest first. Equal times (possible only between processes) are ordered by
 *   digest, then location. Times are microseconds, strictly increasing within a process, so records made one
 *   after another in a process always sort newest first.
 * - Recording a known location again refreshes its time (never moves it back).
 * - A cache is a hint: nothing here is proof that a blob is still at a location.
 */
export interface BlobInfoCache {
  /** Remembers that `digest` was seen at `location` in this transport and scope, now. */
  recordKnownLocation(transport: string, scope: string, digest: string, location: string): Promise<void>;
  /** Many `recordKnownLocation`s, in order, in one transaction where the backend has them. */
  recordKnownLocations(entries: Iterable<KnownLocation>): Promise<void>;
  /** Records that `anyDigest` is a variant of `untransformed` (which may be `anyDigest` itself). */
  recordDigestUntransformedPair(anyDigest: string, untransformed: string): Promise<void>;
  /**
   * The untransformed digest of `digest`: the recorded pair; else `digest` itself if it is the untransformed
   * digest of some recorded variant; else `undefined`.
   */
  untransformedDigest(digest: string): Promise<string | undefined>;
  /** Records the transformer (`'gzip'`, `'zstd'`, `'untransformed'`, ...) of `digest`; `'unknown'` clears it. */
  recordDigestTransformerName(digest: string, name: string): Promise<void>;
  /** Known locations of `digest` (and, with `canSubstitute`, of its variants), ordered as above; `[]` if none. */
  candidateLocations(transport: string, scope: string, digest: string, options: CandidateOptions): Promise<CandidateLocation[]>;
  /** Forgets every known location of these digests in this transport and scope (invalidation). */
  forgetLocations(transport: string, scope: string, digests: Iterable<string>): Promise<void>;
  /** Flushes pending writes and releases resources. Idempotent. Later calls fail with `CacheUnavailableError`. */
  close(): Promise<void>;
}
