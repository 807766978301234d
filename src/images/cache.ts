/**
 * `ImageMetadataCache`: answers "which tags does R have, what is behind a tag, which tag is the latest by a policy"
 * from the metadata store (the seed's `Cache` / `Registry`), and, unless offline, fetches what it lacks (or all of
 * it, with `refresh`) from the registry and stores it for the next reader.
 */
import { parseReference } from '../reference/index.js';
import { isValidTag } from '../oci/names.js';
import { InvalidArgumentError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import type { ImageMetadataStore } from '../metadata/types.js';
import { ImageUnreadableError, NotCachedError, RepositoryRefreshError } from './errors.js';
import { RegistryNotFoundError } from '../registry/errors.js';
import { fetchImageInfo } from './fetch.js';
import { refreshRepository, type RefreshOptions } from './refresh.js';
import { nextTagState } from './deadline.js';
import type { ImageInfo, RepositoryState } from './types.js';

export interface ImageMetadataCacheOptions {
  store: ImageMetadataStore;
  /** Without a client the cache is offline: it answers from the store only. */
  client?: RegistryClient;
  now?: () => number;
}

export interface ReadOptions {
  /** Never contact a registry: a miss is `NotCachedError`. */
  offline?: boolean;
  /** Contact the registry even if the store has an answer (and store the new one). */
  refresh?: boolean;
  signal?: AbortSignal;
  /** Passed to the refresh (request counting, changes). */
  onRequest?: RefreshOptions['onRequest'];
}

/** `registry/repository` of a user's repository string (a tag or digest in it is refused: name a repository). */
export function repositoryOf(input: string): RepositoryName {
  if (typeof input !== 'string') throw new InvalidArgumentError('a repository name is a string');
  const ref = parseReference(input);
  if (ref.digest !== undefined || (ref.tag !== undefined && /[:@][^/]*$/.test(input))) {
    throw new InvalidArgumentError(`${JSON.stringify(input)} names an image, not a repository: leave out the tag or digest`);
  }
  return { registry: ref.registry, repository: ref.repository };
}

export class ImageMetadataCache {
  readonly #store: ImageMetadataStore;
  readonly #client: RegistryClient | undefined;
  readonly #now: () => number;

  constructor(o: ImageMetadataCacheOptions) {
    this.#store = o.store;
    this.#client = o.client;
    this.#now = o.now ?? Date.now;
  }

  /**
   * The repository's last good state (tags, digests when known, deadlines). On a miss (unless offline) only its tag
   * list is read: one request, as `skopeo list-tags`; digests and facts are read for what is asked later.
   */
  async getRepository(repo: RepositoryName | string, o: ReadOptions = {}): Promise<RepositoryState> {
    const name = typeof repo === 'string' ? repositoryOf(repo) : repo;
    if (o.offline && o.refresh) throw new InvalidArgumentError('--offline and --refresh contradict each other: give one');
    const key = `${name.registry}/${name.repository}`;
    const stored = o.refresh ? undefined : await this.#store.getRepository(key);
    if (stored && stored.lastUpdate > 0) return stored;
    if (o.offline || !this.#client) {
      if (stored?.lastError) throw new RepositoryRefreshError(key, stored.lastError.message, stored.lastError.code);
      throw new NotCachedError(`repository ${key}`);
    }
    return this.#refresh(name, o, { heads: false, facts: false });
  }

  /** The repository with every tag's digest and every image's facts (what a `created` policy compares). */
  async getRepositoryWithFacts(repo: RepositoryName | string, o: ReadOptions = {}): Promise<RepositoryState> {
    const name = typeof repo === 'string' ? repositoryOf(repo) : repo;
    const state = await this.getRepository(name, o);
    const unresolved = Object.values(state.tags).some((t) => t.digest === '' && t.excluded === undefined);
    if (!unresolved || o.offline || !this.#client) return state;
    return this.#refresh(name, o, {});
  }

  #refresh(name: RepositoryName, o: ReadOptions, depth: Pick<RefreshOptions, 'heads' | 'facts'>): Promise<RepositoryState> {
    return refreshRepository(name, {
      client: this.#client!,
      store: this.#store,
      now: this.#now,
      ...depth,
      ...(o.signal && { signal: o.signal }),
      ...(o.onRequest && { onRequest: o.onRequest }),
    });
  }

  /** The facts of the image a tag points at (the repository is read as `getRepository` does, then the digest's facts). */
  async getImage(repo: RepositoryName | string, tag: string, o: ReadOptions = {}): Promise<ImageInfo> {
    const name = typeof repo === 'string' ? repositoryOf(repo) : repo;
    const digest = await this.tagDigest(name, tag, o);
    if (!digest) throw new NotCachedError(`tag ${name.registry}/${name.repository}:${tag}`);
    return this.getImageByDigest(name, digest, o);
  }

  /**
   * The digest a tag points at: from the repository's state, else (online) by one HEAD; a tag the state does not
   * list makes the repository be read again first (it may have been pushed since). '' when offline and unknown.
   */
  async tagDigest(repo: RepositoryName | string, tag: string, o: ReadOptions = {}): Promise<string> {
    if (!isValidTag(tag)) throw new InvalidArgumentError(`${JSON.stringify(tag)} is not a valid tag`);
    const name = typeof repo === 'string' ? repositoryOf(repo) : repo;
    const before = this.#now();
    let state = await this.getRepository(name, o);
    let digest = Object.hasOwn(state.tags, tag) ? state.tags[tag]!.digest : undefined;
    // Not in a list read earlier: read it again (a tag pushed since). Not in a list read just now: not there.
    if (digest === undefined && !o.offline && this.#client && !o.refresh && state.lastUpdate < before) {
      state = await this.getRepository(name, { ...o, refresh: true }); // a tag pushed since the last look
      digest = Object.hasOwn(state.tags, tag) ? state.tags[tag]!.digest : undefined;
    }
    if (digest === undefined && !o.offline && this.#client) {
      // The registry's own list was just read, and the tag is not in it.
      throw new RegistryNotFoundError(`${name.registry}/${name.repository} has no tag ${tag}`, { registry: name.registry, status: 404, registryCode: 'MANIFEST_UNKNOWN' });
    }
    if (digest === '' && !o.offline && this.#client) {
      digest = (await this.#client.headManifest(name, tag, { signal: o.signal })).digest;
      o.onRequest?.('head', `${name.registry}/${name.repository}`);
      // Kept for the next reader (offline included): the tag's digest, with its first deadline.
      const latest = await this.#store.getRepository(`${name.registry}/${name.repository}`);
      if (latest && Object.hasOwn(latest.tags, tag) && latest.tags[tag]!.digest === '') {
        latest.tags[tag] = nextTagState(undefined, digest, this.#now());
        await this.#store.putRepository(latest);
      }
    }
    return digest ?? '';
  }

  /** The facts of a digest in `repo`; fetched (2-3 requests) and stored on a miss unless offline. */
  async getImageByDigest(repo: RepositoryName, digest: string, o: ReadOptions = {}): Promise<ImageInfo> {
    if (o.offline && o.refresh) throw new InvalidArgumentError('--offline and --refresh contradict each other: give one');
    const stored = o.refresh ? undefined : await this.#store.getImage(digest);
    if (stored?.unreadable) throw new ImageUnreadableError(`${repo.registry}/${repo.repository}@${digest}`, stored.unreadable);
    if (stored) return stored;
    if (o.offline || !this.#client) throw new NotCachedError(`image ${repo.registry}/${repo.repository}@${digest}`);
    const name = `${repo.registry}/${repo.repository}`;
    const info = await fetchImageInfo(this.#client, repo, digest, {
      now: this.#now,
      ...(o.signal && { signal: o.signal }),
      ...(o.onRequest && { onRequest: (kind) => o.onRequest!(kind, name) }),
    });
    await this.#store.putImage(info);
    return info;
  }
}
