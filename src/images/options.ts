/** Every default and bound of the image metadata cache and its warmer, named in one place. */
import type { PlatformSpec } from '../oci/platform.js';

/** The platform whose config stands for a multi-platform image's `createdAt` and labels. */
export const DEFAULT_FACTS_PLATFORM: PlatformSpec = { os: 'linux', architecture: 'amd64' };
/** A config is read whole for its facts: larger ones are refused (real ones are a few KiB). */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Labels kept per image, and the bytes of one (key + value): what a config says beyond is dropped. */
export const MAX_LABELS = 256;
export const MAX_LABEL_BYTES = 4096;

/** The seed's adaptive deadline (flux v1 `cache/warming.go`): a new tag is looked at again after an hour... */
export const NEW_TAG_INTERVAL_MS = 60 * 60_000;
/** ...then the interval doubles while the digest holds and halves when it moves, within these bounds. */
export const MIN_INTERVAL_MS = 5 * 60_000;
export const MAX_INTERVAL_MS = 7 * 24 * 60 * 60_000;
/** A tag a filter excludes is looked at again after a fixed day. */
export const EXCLUDED_INTERVAL_MS = 24 * 60 * 60_000;
/** Requests at once for one repository's refresh (HEADs, manifest and config GETs). */
export const DEFAULT_REFRESH_CONCURRENCY = 4;
/** Tags one repository is read with: beyond, the refresh fails clearly (a repository of 100,000 tags is fine). */
export const MAX_TAGS_PER_REPOSITORY = 200_000;
/** Strings an index or config gives for a platform longer than this are not a platform (skipped). */
export const MAX_PLATFORM_FIELD = 128;
/** A stored time this far ahead of our clock was written by a clock that ran ahead: it is not trusted. */
export const CLOCK_SLACK_MS = 60_000;
