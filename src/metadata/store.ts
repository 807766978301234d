/**
 * `ImageMetadataStore` on any `KeyValueStore`. Keys (see `metadataKeys`): `motemeta1|repo|<registry/repository>`
 * (hashed past the key limit), `motemeta1|image|<digest>` (one record per digest however many tags point at
 * it), `motemeta1|lease|<name>`, and the chunks of large records (`records.ts`). Values are JSON (a repository
 * state in columns: `repository-codec.ts`).
 *
 * A stored value that is unreadable (not JSON, wrong hash, a chunk gone, a shape the contract does not allow, a
 * record of another repository or digest) is treated as absent, not thrown: this is a cache of what registries
 * say, so a miss costs one refresh, while an error would keep failing every reader until someone deleted the
 * record by hand (the descriptor caches do the same).
 */
import { randomBytes } from 'node:crypto';
import { CacheUnavailableError, InvalidArgumentError } from '../errors.js';
import type { ImageInfo, RepositoryState } from '../images/types.js';
import { checkTtl, metadataKeys } from './keys.js';
import { readRecord, readRecords, writeRecord } from './records.js';
import { checkImageInfo, checkLeaseText, validateRepositoryName } from './validate.js';
import { decodeRepository, encodeRepository } from './repository-codec.js';
import type { ImageMetadataStore, KeyValueStore } from './types.js';

export interface KvImageMetadataStoreOptions {
  /** Repository and image records expire this long after they were written. Default: never (the backend may evict). */
  ttlMs?: number;
}

// Rounds of add / get / deleteIf before giving up on a lease that keeps changing hands.
const LEASE_ATTEMPTS = 4;

export class KvImageMetadataStore implements ImageMetadataStore {
  /** The backend; closed by {@link close}. */
  readonly kv: KeyValueStore;
  readonly ttlMs: number | undefined;
  #closed = false;

  constructor(kv: KeyValueStore, options: KvImageMetadataStoreOptions = {}) {
    this.kv = kv;
    this.ttlMs = checkTtl(options.ttlMs, false);
  }

  async getRepository(repository: string): Promise<RepositoryState | undefined> {
    validateRepositoryName(repository);
    this.#checkOpen();
    const state = parse(await readRecord(this.kv, metadataKeys.repository(repository)), decodeRepository);
    return state?.repository === repository ? state : undefined;
  }

  async putRepository(state: RepositoryState, options: { keepNewer?: { trustUntil: number } } = {}): Promise<boolean> {
    const body = encodeRepository(state); // checks it
    const trustUntil = options.keepNewer?.trustUntil;
    if (trustUntil !== undefined && !Number.isFinite(trustUntil)) throw new InvalidArgumentError(`keepNewer.trustUntil must be a finite number, got ${String(trustUntil)}`);
    this.#checkOpen();
    return writeRecord(this.kv, metadataKeys.repository(state.repository), body, {
      ttlMs: this.ttlMs,
      order: state.lastUpdate,
      ...(trustUntil !== undefined && { keep: (stored: number) => stored > state.lastUpdate && stored <= trustUntil }),
    });
  }

  async getImage(digest: string): Promise<ImageInfo | undefined> {
    return (await this.getImages([digest]))[0];
  }

  /** One `getMany` for all the digests (plus one per image too large for one value, which none usually is). */
  async getImages(digests: readonly string[]): Promise<Array<ImageInfo | undefined>> {
    if (!Array.isArray(digests)) throw new InvalidArgumentError('digests must be an array');
    const keys = digests.map((d) => metadataKeys.image(d)); // validates each digest first
    this.#checkOpen();
    if (keys.length === 0) return [];
    const bodies = await readRecords(this.kv, keys);
    return bodies.map((b, i) => {
      const info = parse(b, (body) => checkImageInfo(JSON.parse(body.toString('utf8'))));
      return info?.digest === digests[i] ? info : undefined;
    });
  }

  async putImage(info: ImageInfo): Promise<void> {
    const i = checkImageInfo(info);
    this.#checkOpen();
    await writeRecord(this.kv, metadataKeys.image(i.digest), Buffer.from(JSON.stringify(i)), { ttlMs: this.ttlMs });
  }

  /**
   * Takes the lease with one atomic `add`; when it is held, reads who holds it: another owner (or an unreadable
   * record) means false; `owner` itself means the lease is extended by replacing exactly the record read
   * (`deleteIf`, then `add`). Between those two steps another owner may take it: then it is theirs, and false.
   */
  async acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    checkLeaseText('lease name', name);
    checkLeaseText('lease owner', owner);
    const ttl = checkTtl(ttlMs, true)!;
    this.#checkOpen();
    const key = metadataKeys.lease(name);
    // A nonce makes each taking's bytes unique, so `deleteIf` removes this taking and no other.
    const mine = Buffer.from(JSON.stringify({ owner, nonce: randomBytes(8).toString('hex') }));
    for (let attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
      if (await this.kv.add(key, mine, { ttlMs: ttl })) return true;
      const held = await this.kv.get(key);
      if (held === undefined) continue; // expired or released in between
      if (leaseOwner(held) !== owner) return false;
      if (await this.kv.deleteIf(key, held)) return this.kv.add(key, mine, { ttlMs: ttl });
    }
    return false;
  }

  /** Releases the lease if `owner` holds it; a lease of another owner is left alone. */
  async releaseLease(name: string, owner: string): Promise<void> {
    checkLeaseText('lease name', name);
    checkLeaseText('lease owner', owner);
    this.#checkOpen();
    const key = metadataKeys.lease(name);
    const held = await this.kv.get(key);
    if (held !== undefined && leaseOwner(held) === owner) await this.kv.deleteIf(key, held);
  }

  /** Closes the store and its backend; later calls reject with `CacheUnavailableError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.kv.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new CacheUnavailableError(`image metadata store on ${this.kv.kind} (closed)`);
  }
}

function parse<T>(body: Buffer | undefined, decode: (body: Buffer) => T): T | undefined {
  if (body === undefined) return undefined;
  try {
    return decode(body);
  } catch {
    return undefined; // see the module comment
  }
}

function leaseOwner(value: Buffer): string | undefined {
  try {
    const v = JSON.parse(value.toString('utf8')) as { owner?: unknown };
    return typeof v?.owner === 'string' ? v.owner : undefined;
  } catch {
    return undefined;
  }
}
