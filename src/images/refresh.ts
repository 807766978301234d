/**
 * One refresh of one repository against its registry, with the fewest requests the facts allow: the tag list
 * (every page), a HEAD for each tag whose deadline passed (a new tag's is now), and a GET of manifest + config only
 * for digests never seen before (facts are kept by digest). An unchanged repository costs its tag list alone.
 *
 * The tag list is stored first (tags with digests still unknown), so tag-only policies answer after one request;
 * then the HEADs, newest-looking tags first; then the facts. A failure keeps the last good state and records
 * `lastError` (the seed's rule): readers go on answering from what was known.
 */
import { runPool } from '../internal/pool.js';
import { MoteError } from '../errors.js';
import { RegistryNotFoundError } from '../registry/errors.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import type { ImageMetadataStore } from '../metadata/types.js';
import { fetchImageInfo } from './fetch.js';
import { excludedTagState, isDue, nextTagState, unknownTagState } from './deadline.js';
import { newestFirst } from './order.js';
import type { RepositoryState, TagState } from './types.js';
import { DEFAULT_REFRESH_CONCURRENCY } from './options.js';

export type RequestKind = 'tags' | 'head' | 'manifest' | 'config';

/** A tag that appeared, moved to another digest, or disappeared. */
export interface TagChange {
  repository: string;
  tag: string;
  kind: 'added' | 'moved' | 'removed';
  digest?: string;
  previous?: string;
}

export interface RefreshOptions {
  client: RegistryClient;
  store: ImageMetadataStore;
  /** ms since the epoch; injectable for tests. */
  now?: () => number;
  signal?: AbortSignal;
  /** Tags it returns false for are excluded: never looked at, reconsidered daily. */
  tagFilter?: (tag: string) => boolean;
  /** HEADs and GETs at once for this repository. */
  concurrency?: number;
  /** Fetch image facts for new digests (default true); false: tags and digests only. */
  facts?: boolean;
  onChange?: (change: TagChange) => void;
  onRequest?: (kind: RequestKind, repository: string) => void;
}

/** Refreshes `repo` and returns its new state (also stored). Throws after storing `lastError` if it failed. */
export async function refreshRepository(repo: RepositoryName, o: RefreshOptions): Promise<RepositoryState> {
  const now = o.now ?? Date.now;
  const name = `${repo.registry}/${repo.repository}`;
  const count = (kind: RequestKind): void => o.onRequest?.(kind, name);
  const old = (await o.store.getRepository(name)) ?? { repository: name, lastUpdate: 0, tags: {} };
  const fail = async (err: unknown): Promise<never> => {
    const lastError = { message: err instanceof Error ? err.message : String(err), at: now(), ...(err instanceof MoteError && { code: err.code }) };
    const latest = (await o.store.getRepository(name).catch(() => undefined)) ?? old;
    await o.store.putRepository({ ...latest, lastError }).catch(() => {});
    throw err;
  };

  let listed: string[];
  try {
    listed = await o.client.tags(repo, { signal: o.signal });
    count('tags');
  } catch (err) {
    return fail(err);
  }
  const at = now();
  const tags: Record<string, TagState> = Object.create(null) as Record<string, TagState>;
  const due: string[] = [];
  for (const tag of listed) {
    const prev = Object.hasOwn(old.tags, tag) ? old.tags[tag] : undefined;
    if (o.tagFilter && !o.tagFilter(tag)) {
      tags[tag] = prev?.excluded !== undefined && prev.deadline > at ? prev : excludedTagState(prev, 'excluded by the tag filter', at);
    } else if (!isDue(prev, at) && prev?.excluded === undefined) {
      tags[tag] = prev!;
    } else {
      tags[tag] = prev?.digest ? prev : unknownTagState();
      due.push(tag);
    }
  }
  for (const tag of Object.keys(old.tags)) {
    if (!Object.hasOwn(tags, tag)) o.onChange?.({ repository: name, tag, kind: 'removed', ...(old.tags[tag]!.digest && { previous: old.tags[tag]!.digest }) });
  }
  const state: RepositoryState = { repository: name, lastUpdate: at, tags, ...(old.lastError && { lastError: old.lastError }) };
  await o.store.putRepository(state);

  const concurrency = o.concurrency ?? DEFAULT_REFRESH_CONCURRENCY;
  try {
    const gone: string[] = [];
    await runPool(newestFirst(due), concurrency, async (tag) => {
      let digest: string;
      try {
        digest = (await o.client.headManifest(repo, tag, { signal: o.signal })).digest;
        count('head');
      } catch (err) {
        if (!(err instanceof RegistryNotFoundError)) throw err;
        count('head');
        gone.push(tag); // deleted between the list and the HEAD
        return;
      }
      const prev = Object.hasOwn(old.tags, tag) ? old.tags[tag] : undefined;
      tags[tag] = nextTagState(prev, digest, now());
      if (!prev?.digest) o.onChange?.({ repository: name, tag, kind: 'added', digest });
      else if (prev.digest !== digest) o.onChange?.({ repository: name, tag, kind: 'moved', digest, previous: prev.digest });
    });
    for (const tag of gone) delete tags[tag];
    if (o.facts !== false) await fetchNewFacts(repo, tags, o, concurrency, count);
  } catch (err) {
    await o.store.putRepository(state).catch(() => {}); // what was learnt so far is kept
    return fail(err);
  }
  const done: RepositoryState = { repository: name, lastUpdate: at, tags };
  await o.store.putRepository(done);
  return done;
}

/** Facts for each digest the tags point at and the store has not seen (one manifest GET and one config GET each). */
async function fetchNewFacts(
  repo: RepositoryName,
  tags: Record<string, TagState>,
  o: RefreshOptions,
  concurrency: number,
  count: (kind: RequestKind) => void,
): Promise<void> {
  const digests = [...new Set(newestFirst(Object.keys(tags)).map((t) => tags[t]!.digest).filter((d) => d !== ''))];
  const known = await o.store.getImages(digests);
  const missing = digests.filter((_, i) => known[i] === undefined);
  await runPool(missing, concurrency, async (digest) => {
    try {
      const info = await fetchImageInfo(o.client, repo, digest, { signal: o.signal, now: o.now, onRequest: count });
      await o.store.putImage(info);
    } catch (err) {
      if (!(err instanceof RegistryNotFoundError)) throw err; // gone meanwhile: looked at again at the tag's deadline
    }
  });
}
