/**
 * One repository of a registry as a mote source: the read role (`MoteProvider`, plus `RangeReadable`) that a
 * `PullThroughCache` (or a `FileMoteCache`'s `fallback`) reads through. It has no write or manage role: a
 * registry is written with `RegistryClient.pushBlob`, never through a cache.
 */
import type { Readable } from 'node:stream';
import { AbortError, InvalidArgumentError, MoteNotFoundError } from '../errors.js';
import { parseDigest, VerifyingStream } from '../digest/index.js';
import { destroyOnAbort, throwIfAborted } from '../internal/abort.js';
import { callSafely } from '../internal/listeners.js';
import { DEFAULT_MEDIA_TYPE } from '../oci/media-types.js';
import { Reference } from '../reference/index.js';
import { recordLayerSource } from '../blobinfo/locate.js';
import type { BlobInfoCache } from '../blobinfo/types.js';
import type { MoteProvider, OriginRejecting, RangeReadable } from '../store/roles.js';
import type { MoteInfo, MoteReaderAt, MoteReadOptions } from '../store/types.js';
import type { RegistryClient } from './client.js';
import { RegistryNotFoundError, RegistryRangeError, UnsupportedOperationError } from './errors.js';
import { toRepositoryName } from './names.js';
import type { RepositoryName } from './types.js';

export interface TransferEvent {
  digest: string;
  /** Offset in the blob of the first byte of this chunk. */
  offset: number;
  /** Bytes in this chunk. */
  bytes: number;
  /** Size of the blob. */
  size: number;
}

export interface RegistryMoteCacheOptions {
  /** Where each blob served is recorded as a known location (`recordLayerSource`). */
  blobInfo?: BlobInfoCache;
  /** Called as chunks arrive from the registry. What it throws is ignored: it cannot fail (or crash) a read. */
  onTransfer?: (e: TransferEvent) => void;
}

export class RegistryMoteCache implements MoteProvider, RangeReadable, OriginRejecting {
  readonly registry: string;
  readonly repository: string;
  readonly client: RegistryClient;
  readonly #options: RegistryMoteCacheOptions;
  /** Digests already recorded in the blob-info cache by this instance (random access would record every read). */
  readonly #recorded = new Set<string>();
  /** Bytes received from the registry (all of them: including those of failed or abandoned reads). */
  bytesFetched = 0;

  constructor(repository: RepositoryName | string, client: RegistryClient, options: RegistryMoteCacheOptions = {}) {
    const name = toRepositoryName(repository);
    this.registry = name.registry;
    this.repository = name.repository;
    this.client = client;
    this.#options = { ...options };
  }

  get #name(): RepositoryName {
    return { registry: this.registry, repository: this.repository };
  }

  async moteExists(digest: string): Promise<boolean> {
    return (await this.find(digest)) !== undefined;
  }

  /** By HEAD. The registry does not keep media types of blobs: it is always `application/octet-stream`. */
  async find(digest: string): Promise<MoteInfo | undefined> {
    parseDigest(digest);
    try {
      const d = await this.client.headBlob(this.#name, digest);
      return { digest, size: d.size, mediaType: DEFAULT_MEDIA_TYPE };
    } catch (err) {
      if (err instanceof RegistryNotFoundError) return undefined;
      throw err;
    }
  }

  /** The blob's URL in the registry. */
  moteRef(digest: string): string {
    parseDigest(digest);
    return this.client.urlFor(this.registry, `/v2/${this.repository}/blobs/${digest}`);
  }

  async #open(digest: string, offset: number, length: number | undefined, signal?: AbortSignal) {
    let progress = offset;
    let size = -1;
    try {
      const blob = await this.client.getBlob(this.#name, digest, {
        offset,
        ...(length !== undefined ? { length } : {}),
        ...(signal ? { signal } : {}),
        onBytes: (n) => {
          this.bytesFetched += n;
          const at = progress;
          progress += n;
          // A listener's failure is not the transfer's (and must not skip the byte counts above).
          if (size >= 0) callSafely(this.#options.onTransfer, { digest, offset: at, bytes: n, size });
        },
      });
      size = blob.size;
      if (this.#options.blobInfo && !this.#recorded.has(digest)) {
        try {
          await recordLayerSource(this.#options.blobInfo, { digest }, new Reference({ registry: this.registry, repository: this.repository, digest }));
        } catch (err) {
          blob.body.destroy(); // nobody will read it: release the connection
          throw err;
        }
        this.#recorded.add(digest);
      }
      return blob;
    } catch (err) {
      if (err instanceof RegistryNotFoundError) throw new MoteNotFoundError(digest, `not in ${this.registry}/${this.repository}`);
      // Every form of "past the end" (a 416, a 200 shorter than the offset, a zero-length read's HEAD).
      if (err instanceof RegistryRangeError) throw new InvalidArgumentError(`blob ${digest}: offset ${offset} is past its end (${err.size} bytes)`);
      throw err;
    }
  }

  /** Bytes read here failed verification: true if a mirror served them, and a new read now goes elsewhere. */
  rejectServed(digest: string): boolean {
    parseDigest(digest);
    return this.client.rejectServed(this.#name, digest);
  }

  /** The whole blob, verified: the stream fails at its end with `SizeMismatchError`/`DigestMismatchError` if wrong. */
  async moteReader(digest: string, options: MoteReadOptions = {}): Promise<Readable> {
    parseDigest(digest);
    const { signal } = options;
    throwIfAborted(signal);
    const blob = await this.#open(digest, 0, undefined, signal);
    const verify = new VerifyingStream({ digest, size: blob.size, source: `blob from ${this.registry}/${this.repository}` });
    // Errors of either side reach the consumer; destroying the result releases the connection. An abort is the
    // project's AbortError, whichever side sees it first.
    blob.body.on('error', (err) => verify.destroy(signal?.aborted ? new AbortError(signal.reason) : err));
    verify.on('close', () => blob.body.destroy());
    return destroyOnAbort(blob.body.pipe(verify), signal);
  }

  /** From `offset` to the end, unverified (the consumer, which has the bytes before `offset`, verifies the whole). */
  async moteReaderFrom(digest: string, offset: number, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    parseDigest(digest);
    const blob = await this.#open(digest, offset, undefined, options.signal);
    return blob.body;
  }

  /** Random access by ranged GETs (one request per read). */
  async moteReaderAt(digest: string): Promise<MoteReaderAt> {
    const info = await this.find(digest);
    if (!info) throw new MoteNotFoundError(digest, `not in ${this.registry}/${this.repository}`);
    const size = info.size;
    let closed = false;
    const read = async (buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> => {
      if (closed) throw new UnsupportedOperationError('read after close');
      const n = Math.max(0, Math.min(length, size - position, buffer.length - offset));
      if (n === 0) return 0;
      const blob = await this.#open(digest, position, n);
      let at = offset;
      for await (const c of blob.body) {
        const b = c as Buffer;
        buffer.set(b, at);
        at += b.length;
      }
      return at - offset;
    };
    const close = async () => {
      closed = true;
    };
    return { size, read, close, [Symbol.asyncDispose]: close };
  }
}
