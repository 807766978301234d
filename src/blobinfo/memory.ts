import { CacheUnavailableError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { nowMicros } from '../internal/clock.js';
import { UNKNOWN_TRANSFORMER, type BlobInfoCache, type CandidateLocation, type CandidateOptions, type KnownLocation } from './types.js';
import { checkLimit, checkLocation, checkString, orderCandidates, type RawLocation } from './rules.js';

const key = (transport: string, scope: string, digest: string): string => `${transport}\0${scope}\0${digest}`;

/**
 * The blob-info cache in memory (the original's `NewCache("")`): per process, lost on exit. Every operation is
 * synchronous inside, so concurrent calls cannot interleave.
 */
export class MemoryBlobInfoCache implements BlobInfoCache {
  /** any digest -> its untransformed digest */
  readonly #untransformedOf = new Map<string, string>();
  /** untransformed digest -> digests recorded as its variants */
  readonly #variantsOf = new Map<string, Set<string>>();
  readonly #transformer = new Map<string, string>();
  /** transport\0scope\0digest -> location -> last seen (µs) */
  readonly #locations = new Map<string, Map<string, number>>();
  #closed = false;

  #open(): void {
    if (this.#closed) throw new CacheUnavailableError('blob-info cache (memory, closed)');
  }

  #record(e: KnownLocation, at: number): void {
    const k = key(e.transport, e.scope, e.digest);
    let locs = this.#locations.get(k);
    if (!locs) this.#locations.set(k, (locs = new Map()));
    locs.set(e.location, Math.max(at, locs.get(e.location) ?? 0));
  }

  async recordKnownLocation(transport: string, scope: string, digest: string, location: string): Promise<void> {
    this.#open();
    this.#record(checkLocation({ transport, scope, digest, location }), nowMicros());
  }

  async recordKnownLocations(entries: Iterable<KnownLocation>): Promise<void> {
    this.#open();
    const all = [...entries].map(checkLocation); // all or nothing
    for (const e of all) this.#record(e, nowMicros());
  }

  async recordDigestUntransformedPair(anyDigest: string, untransformed: string): Promise<void> {
    this.#open();
    validateDigest(anyDigest);
    validateDigest(untransformed);
    const previous = this.#untransformedOf.get(anyDigest);
    if (previous !== undefined && previous !== untransformed) {
      const set = this.#variantsOf.get(previous);
      set?.delete(anyDigest);
      if (set?.size === 0) this.#variantsOf.delete(previous);
    }
    this.#untransformedOf.set(anyDigest, untransformed);
    let set = this.#variantsOf.get(untransformed);
    if (!set) this.#variantsOf.set(untransformed, (set = new Set()));
    set.add(anyDigest);
  }

  #untransformed(digest: string): string | undefined {
    return this.#untransformedOf.get(digest) ?? (this.#variantsOf.has(digest) ? digest : undefined);
  }

  async untransformedDigest(digest: string): Promise<string | undefined> {
    this.#open();
    validateDigest(digest);
    return this.#untransformed(digest);
  }

  async recordDigestTransformerName(digest: string, name: string): Promise<void> {
    this.#open();
    validateDigest(digest);
    checkString('transformer name', name, true);
    if (name === UNKNOWN_TRANSFORMER) this.#transformer.delete(digest);
    else this.#transformer.set(digest, name);
  }

  async candidateLocations(transport: string, scope: string, digest: string, options: CandidateOptions): Promise<CandidateLocation[]> {
    this.#open();
    checkString('transport', transport);
    checkString('scope', scope);
    validateDigest(digest);
    const limit = checkLimit(options?.limit);
    const digests = new Set([digest]);
    let untransformed: string | undefined;
    if (options?.canSubstitute) {
      untransformed = this.#untransformed(digest);
      if (untransformed !== undefined) {
        for (const d of this.#variantsOf.get(untransformed) ?? []) digests.add(d);
        digests.add(untransformed);
      }
    }
    const raw: RawLocation[] = [];
    for (const d of digests) {
      for (const [location, micros] of this.#locations.get(key(transport, scope, d)) ?? []) raw.push({ digest: d, location, micros });
    }
    return orderCandidates(digest, untransformed, raw, (d) => this.#transformer.get(d), limit);
  }

  async forgetLocations(transport: string, scope: string, digests: Iterable<string>): Promise<void> {
    this.#open();
    checkString('transport', transport);
    checkString('scope', scope);
    const all = [...digests].map(validateDigest);
    for (const d of all) this.#locations.delete(key(transport, scope, d));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
