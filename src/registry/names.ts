/**
 * Checks of what goes into a registry URL path: repository names and tags are validated before any request, so
 * no input can change the path a request goes to (`..`, `?`, `#`, encoded separators).
 */
import { InvalidReferenceError } from '../errors.js';
import { parseDigest } from '../digest/index.js';
import { parseReference } from '../reference/index.js';
import type { RepositoryName } from './types.js';

const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** A validated `{registry, repository}` from a `RepositoryName` or a `registry/repo` string. */
export function toRepositoryName(repo: RepositoryName | string): RepositoryName {
  if (typeof repo === 'string') {
    const ref = parseReference(repo);
    return { registry: ref.registry, repository: ref.repository };
  }
  if (typeof repo !== 'object' || repo === null) throw new InvalidReferenceError(repo, 'not a repository');
  validateRepository(repo.repository);
  if (typeof repo.registry !== 'string' || !/^[A-Za-z0-9.\-[\]:]+$/.test(repo.registry)) {
    throw new InvalidReferenceError(`${String(repo.registry)}/${repo.repository}`, 'invalid registry');
  }
  return { registry: repo.registry, repository: repo.repository };
}

export function validateRepository(repository: string): void {
  if (typeof repository !== 'string' || repository === '' || !repository.split('/').every((c) => PATH_COMPONENT_RE.test(c))) {
    throw new InvalidReferenceError(repository, 'invalid repository name');
  }
}

/** A tag or a digest, as the `<reference>` of a manifest URL. Returns whether it is a digest. */
export function checkTagOrDigest(ref: string): 'tag' | 'digest' {
  if (typeof ref === 'string' && ref.includes(':')) {
    parseDigest(ref);
    return 'digest';
  }
  if (typeof ref !== 'string' || !TAG_RE.test(ref)) throw new InvalidReferenceError(ref, 'invalid tag');
  return 'tag';
}
