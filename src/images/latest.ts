/**
 * "Which tag of R is the latest by my policy": the policy checked first (nothing is fetched for a bad one), the
 * repository read through the cache, image facts only for a policy that needs them (`created`), a HEAD only when
 * the winning tag's digest is not known yet.
 */
import { runPool } from '../internal/pool.js';
import { NotCachedError } from './errors.js';
import { isTransient } from './refresh.js';
import { repositoryOf, type ImageMetadataCache, type ReadOptions } from './cache.js';
import { needsImageFacts, parsePolicy, selectLatest, type ImagePolicy, type PolicySpec } from './policy.js';
import type { ImageInfo } from './types.js';
import { DEFAULT_REFRESH_CONCURRENCY } from './options.js';

export interface LatestAnswer {
  repository: string;
  tag: string;
  /** Empty when offline and the tag's digest was not known yet. */
  digest: string;
  policy: ImagePolicy;
}

export async function latestTag(cache: ImageMetadataCache, repository: string, spec: PolicySpec, read: ReadOptions = {}): Promise<LatestAnswer> {
  const policy = parsePolicy(spec);
  const repo = repositoryOf(repository);
  const name = `${repo.registry}/${repo.repository}`;
  const state = needsImageFacts(policy) ? await cache.getRepositoryWithFacts(repo, read) : await cache.getRepository(repo, read);
  let facts: Map<string, ImageInfo> | undefined;
  if (needsImageFacts(policy)) {
    facts = new Map();
    const digests = [...new Set(Object.values(state.tags).map((t) => t.digest).filter((d) => d !== ''))];
    await runPool(digests, DEFAULT_REFRESH_CONCURRENCY, async (digest) => {
      try {
        facts!.set(digest, await cache.getImageByDigest(repo, digest, { ...read, refresh: false }));
      } catch (err) {
        // Offline and unknown, or an image that cannot be read: not a candidate. What says nothing about the image
        // (the registry down, credentials refused, an abort) still ends the answer.
        if (isTransient(err)) throw err;
      }
    });
  }
  const found = selectLatest(state.tags, policy, facts ? (d) => facts.get(d) : undefined);
  if (!found) throw new NotCachedError(`a tag of ${name} matching the policy`, 'no tag known to the cache qualifies; try --refresh, or check the policy');
  let digest = found.digest;
  if (digest === '' && !read.offline) digest = await cache.tagDigest(repo, found.tag, { ...read, refresh: false });
  return { repository: name, tag: found.tag, digest, policy };
}
