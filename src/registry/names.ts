/**
 * Checks of what goes into a registry URL path: repository names and tags are validated (by the OCI grammar in
 * `oci/names.ts`) before any request, so no input can change the path a request goes to.
 */
import { InvalidReferenceError } from '../errors.js';
import { parseDigest } from '../digest/index.js';
import { isValidRepository, isValidTag, registryHostProblem } from '../oci/names.js';
import { parseReference } from '../reference/index.js';
import type { RepositoryName } from './types.js';

/** A validated `{registry, repository}` from a `RepositoryName` or a `registry/repo` string. */
export function toRepositoryName(repo: RepositoryName | string): RepositoryName {
  if (typeof repo === 'string') {
    const ref = parseReference(repo);
    return { registry: ref.registry, repository: ref.repository };
  }
  if (typeof repo !== 'object' || repo === null) throw new InvalidReferenceError(repo, 'not a repository');
  if (!isValidRepository(repo.repository)) throw new InvalidReferenceError(repo.repository, 'invalid repository name');
  const hostProblem = registryHostProblem(repo.registry);
  if (hostProblem) throw new InvalidReferenceError(`${String(repo.registry)}/${repo.repository}`, `invalid registry: ${hostProblem}`);
  return { registry: repo.registry, repository: repo.repository };
}

/** A tag or a digest, as the `<reference>` of a manifest URL. Returns whether it is a digest. */
export function checkTagOrDigest(ref: string): 'tag' | 'digest' {
  if (typeof ref === 'string' && ref.includes(':')) {
    parseDigest(ref);
    return 'digest';
  }
  if (!isValidTag(ref)) throw new InvalidReferenceError(ref, 'invalid tag');
  return 'tag';
}
