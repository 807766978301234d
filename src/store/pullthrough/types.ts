/** Progress of one pull-through fetch, as reported to `onProgress` (and `FileMoteCache`'s `onFallbackProgress`). */
export interface FetchProgress {
  digest: string;
  /** Bytes in the partial download so far (including bytes resumed from an earlier, interrupted download). */
  received: number;
  /** Total size as the source announced it (-1 if it did not). */
  size: number;
}

/** @deprecated The earlier name of {@link FetchProgress}. */
export type FallbackProgress = FetchProgress;
