/**
 * What the image metadata cache knows about images and repositories (issue 11; flux v1's `image.Info` and
 * `ImageRepository`, with what its users missed: creation time, labels, platforms, size, kept per digest).
 */

/** One platform of an index (multi-platform image). */
export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
  /** The platform's own manifest. */
  digest: string;
}

/**
 * The facts about one manifest (or index), keyed by its digest: immutable, so stored once however many tags and
 * repositories point at it. `lastFetched` is when they were read from a registry.
 */
export interface ImageInfo {
  /** Where it was read: `registry/repository@digest` (or `...:tag@digest`). */
  reference: string;
  digest: string;
  mediaType: string;
  /** The config's digest (for an index: the config of the platform used for `createdAt` and `labels`, if any). */
  configDigest?: string;
  /** The config's `created` time, ISO 8601, when it has one. */
  createdAt?: string;
  labels: Record<string, string>;
  /** For an index: each child's platform and digest; for a single manifest: its own platform if the config says. */
  platforms: ImagePlatform[];
  /** The layers (for an index: of the platform used), in order. */
  layers: Array<{ digest: string; size: number; mediaType: string }>;
  /** Manifest + config + layers (for an index: of the platform used), in bytes. */
  size: number;
  /** Milliseconds since the epoch. */
  lastFetched: number;
  /**
   * Set when the image could not be read (it lies about its content, is malformed, or is beyond a bound): no facts,
   * and no request for it again (its digest never changes). Policies skip it.
   */
  unreadable?: { code: string; message: string };
}

/** Per tag: what it pointed at, and when to look again (the warmer's adaptive deadline). */
export interface TagState {
  digest: string;
  /** When the tag was last checked against the registry (ms since the epoch). */
  checkedAt: number;
  /** The interval that set `deadline` (ms): doubled when the digest did not change, halved when it moved. */
  intervalMs: number;
  /** Not to be checked again before this (ms since the epoch). */
  deadline: number;
  /** Set when a filter excluded the tag (fixed 24 h interval): why. */
  excluded?: string;
}

/**
 * The last good state of a repository. A failed refresh only sets `lastError` (and keeps `tags`): readers keep
 * answering from the last good state (the seed's rule).
 */
export interface RepositoryState {
  /** Canonical `registry/repository`, as `Reference.name` gives it (the full host: `docker.io/library/alpine`). */
  repository: string;
  /** When the tag list was last read successfully (ms since the epoch); 0: never. */
  lastUpdate: number;
  tags: Record<string, TagState>;
  /** The last refresh's failure, if it failed after the last success. */
  lastError?: { message: string; code?: string; at: number };
}
