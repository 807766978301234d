/** Progress of one pull-through fetch, as reported to `onProgress` (and `FileMoteCache`'s `onFallbackProgress`). */
export interface FetchProgress {
  digest: string;
  /** Bytes in the partial download so far (including bytes resumed from an earlier, interrupted download). */
  received: number;
  /** Total size as the source announced it (-1 if it did not). */
  size: number;
}

/**
 * What the caller knows of a mote before it is fetched (from a manifest's descriptor). A known size bounds the
 * download: more bytes than that fail it at once (`SizeMismatchError`) instead of being written to disk until the
 * digest check, whatever the source claims; and the source is not asked for the size first.
 */
export interface FetchHint {
  size?: number | undefined;
  /** Recorded in the store as the mote's media type (a registry keeps none for blobs). */
  mediaType?: string | undefined;
}

/** @deprecated The earlier name of {@link FetchProgress}. */
export type FallbackProgress = FetchProgress;
