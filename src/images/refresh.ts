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
import { ErrorCategory, MoteError, errorCategory } from '../errors.js';
import { isValidTag } from '../oci/names.js';
import { RegistryNotFoundError, RegistryProtocolError } from '../registry/errors.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import type { ImageMetadataStore } from '../metadata/types.js';
import { fetchImageInfo, unreadableImage } from './fetch.js';
import { excludedTagState, isDue, nextTagState, unknownTagState } from './deadline.js';
import { newestFirst } from './order.js';
import type { RepositoryState, TagState } from './types.js';
import { CLOCK_SLACK_MS, DEFAULT_REFRESH_CONCURRENCY, MAX_TAGS_PER_REPOSITORY } from './options.js';

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
  /** HEAD the due tags for their digests (default true); false: the tag list only (digests stay unknown: ''). */
  heads?: boolean;
  onChange?: (change: TagChange) => void;
  onRequest?: (kind: RequestKind, repository: string) => void;
  /**
   * The repository's stored state, as the caller has just read it (the warmer, under its lease): saves reading a
   * state of 100,000 tags once more. `null`: the caller read it and there was none.
   */
  stored?: RepositoryState | null;
}

/** Refreshes `repo` and returns its new state (also stored). Throws after storing `lastError` if it failed. */
export async function refreshRepository(repo: RepositoryName, o: RefreshOptions): Promise<RepositoryState> {
  const now = o.now ?? Date.now;
  const name = `${repo.registry}/${repo.repository}`;
  const count = (kind: RequestKind): void => o.onRequest?.(kind, name);
  // Every write keeps a newer state another writer stored meanwhile (a reader's --refresh, a warmer whose lease
  // lapsed): a slow refresh never puts an older state back.
  const put = (s: RepositoryState): Promise<boolean> => o.store.putRepository(s, { keepNewer: { trustUntil: now() + CLOCK_SLACK_MS } });
  const stored = o.stored === undefined ? await o.store.getRepository(name) : (o.stored ?? undefined);
  const old = stored ?? { repository: name, lastUpdate: 0, tags: {} };
  const fail = async (err: unknown): Promise<never> => {
    // A shutdown is not the repository's failure: what was learnt is kept, no lastError recorded.
    if (o.signal?.aborted || errorCategory(err) === ErrorCategory.Aborted) throw err;
    const lastError = { message: err instanceof Error ? err.message : String(err), at: now(), ...(err instanceof MoteError && { code: err.code }) };
    const latest = (await o.store.getRepository(name).catch(() => undefined)) ?? old;
    await put({ ...latest, lastError }).catch(() => {});
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
  // What a registry lists is input: names outside the tag grammar are skipped, repeats counted once, and the
  // count bounded (a registry listing millions of names must not make millions of HEADs).
  const names = [...new Set(listed.filter((t) => isValidTag(t)))];
  if (names.length > MAX_TAGS_PER_REPOSITORY) {
    return fail(new RegistryProtocolError(`${name} lists ${names.length} tags: more than the ${MAX_TAGS_PER_REPOSITORY} a repository is read with`, { registry: repo.registry }));
  }
  for (const tag of names) {
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
  const concurrency = o.concurrency ?? DEFAULT_REFRESH_CONCURRENCY;
  try {
    // The tag list first (tag-only policies answer from it), unless it is what is stored already and nothing is
    // due: then the one write at the end says the same (a repository of 100,000 tags is megabytes to write).
    if (due.length > 0 || o.heads === false || !sameTags(old.tags, tags)) await put(state);
    if (o.heads === false) return state;
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
    await put(state).catch(() => {}); // what was learnt so far is kept
    return fail(err);
  }
  const done: RepositoryState = { repository: name, lastUpdate: at, tags };
  if (await put(done)) return done;
  return (await o.store.getRepository(name)) ?? done; // a newer state was stored meanwhile: that is the answer
}

/** Whether both name the same tags (the states are not compared: only whether the list changed). */
function sameTags(a: Record<string, TagState>, b: Record<string, TagState>): boolean {
  let n = 0;
  for (const tag of Object.keys(b)) {
    if (!Object.hasOwn(a, tag)) return false;
    n++;
  }
  return n === Object.keys(a).length;
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
      if (err instanceof RegistryNotFoundError) return; // gone meanwhile: looked at again at the tag's deadline
      if (isTransient(err)) throw err;
      // This image cannot be read (it lies, it is malformed, it is beyond a bound): remembered by its digest, which
      // never changes, so it costs no request again; the other images go on.
      await o.store.putImage(unreadableImage(repo, digest, err, (o.now ?? Date.now)()));
    }
  });
}

/** Failures that say nothing about the image: the registry, the credentials or the caller. Those stop the refresh. */
export function isTransient(err: unknown): boolean {
  const c = errorCategory(err);
  return c === ErrorCategory.Unavailable || c === ErrorCategory.Denied || c === ErrorCategory.Aborted || c === ErrorCategory.NoSpace || c === undefined;
}
