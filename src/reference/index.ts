/**
 * OCI image references: `[registry[:port]/]repo/path[:tag][@digest]`, parsed strictly (the grammar of the OCI
 * distribution spec / `distribution/reference`) and normalised the way Docker does it.
 */
import { InvalidDigestError, InvalidReferenceError } from '../errors.js';
import { parseDigest } from '../digest/index.js';
import { MAX_NAME_LENGTH, isValidPathComponent, isValidTag, registryHostProblem } from '../oci/names.js';

/** The registry a reference without one names. */
export const DEFAULT_REGISTRY = 'docker.io';
/** The tag a reference with neither tag nor digest gets. */
export const DEFAULT_TAG = 'latest';


/**
 * A parsed, normalised reference. Immutable. `toString()` is canonical: two strings naming the same image (e.g.
 * `alpine` and `docker.io/library/alpine:latest`) give equal strings.
 */
export class Reference {
  /** Host, with the port if any: `docker.io`, `ghcr.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path inside the registry: `library/alpine`, `foo/bar`. */
  readonly repository: string;
  /** The tag; `latest` when the reference gave neither a tag nor a digest. */
  readonly tag: string | undefined;
  /** `<algorithm>:<encoded>`, validated by `parseDigest`. */
  readonly digest: string | undefined;

  constructor(parts: { registry: string; repository: string; tag?: string | undefined; digest?: string | undefined }) {
    validateParts(`${parts.registry}/${parts.repository}`, parts);
    this.registry = parts.registry;
    this.repository = parts.repository;
    this.tag = parts.tag;
    this.digest = parts.digest;
  }

  /** `registry/repository`, without tag or digest. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** A reference to another tag of the same repository (the digest is dropped). */
  withTag(tag: string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, tag });
  }

  /** A reference to a digest in the same repository (the tag is kept). */
  withDigest(digest: string): Reference {
    return new Reference({ registry: this.registry, repository: this.repository, tag: this.tag, digest });
  }

  /** Canonical form: `registry/repository[:tag][@digest]`. */
  toString(): string {
    return `${this.name}${this.tag !== undefined ? `:${this.tag}` : ''}${this.digest !== undefined ? `@${this.digest}` : ''}`;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: Reference | string): boolean {
    return this.toString() === String(other);
  }
}

function validateParts(
  display: string,
  parts: { registry: string; repository: string; tag?: string | undefined; digest?: string | undefined },
): void {
  const name = `${parts.registry}/${parts.repository}`;
  const hostProblem = registryHostProblem(parts.registry);
  if (hostProblem) throw new InvalidReferenceError(display, `invalid registry ${JSON.stringify(parts.registry)}: ${hostProblem}`);
  validateRepository(display, parts.repository);
  if (name.length > MAX_NAME_LENGTH) throw new InvalidReferenceError(display, `name longer than ${MAX_NAME_LENGTH} characters`);
  if (parts.tag !== undefined && !isValidTag(parts.tag)) throw new InvalidReferenceError(display, `invalid tag ${JSON.stringify(parts.tag)}`);
  if (parts.digest !== undefined) checkDigest(display, parts.digest);
}

function validateRepository(display: string, repository: string): void {
  if (repository === '') throw new InvalidReferenceError(display, 'empty repository');
  for (const component of repository.split('/')) {
    if (!isValidPathComponent(component)) {
      throw new InvalidReferenceError(
        display,
        component === ''
          ? 'empty path component'
          : `invalid path component ${JSON.stringify(component)} (lowercase letters, digits and . _ __ - separators)`,
      );
    }
  }
}

function checkDigest(display: string, digest: string): void {
  try {
    parseDigest(digest);
  } catch (err) {
    if (err instanceof InvalidDigestError) throw new InvalidReferenceError(display, `invalid digest: ${err.message}`);
    throw err;
  }
}

/**
 * Parses `[registry[:port]/]repo/path[:tag][@digest]`.
 *
 * - The first path component is a registry when it contains `.` or `:` or is `localhost`; otherwise the
 *   registry is `docker.io`, and a single-component repository on Docker Hub gets `library/`
 *   (`alpine` -> `docker.io/library/alpine:latest`, `foo/bar` -> `docker.io/foo/bar:latest`).
 *   `index.docker.io` is normalised to `docker.io`.
 * - A reference with neither tag nor digest gets the tag `latest` (as the original's `ref` package and Docker
 *   do); a reference with only a digest gets no tag.
 * - Repository components are lowercase (`[a-z0-9]+` joined by `.`, `_`, `__` or dashes), the tag matches
 *   `[\w][\w.-]{0,127}`, the digest must pass `parseDigest`, `registry/repository` is at most 255 characters.
 *   No scheme (`https://`), no whitespace.
 *
 * @throws InvalidReferenceError (code `ERR_INVALID_REFERENCE`) for anything else.
 */
export function parseReference(s: string): Reference {
  if (typeof s !== 'string') throw new InvalidReferenceError(s, 'not a string');
  if (s === '') throw new InvalidReferenceError(s, 'empty reference');
  if (s.includes('://')) throw new InvalidReferenceError(s, 'a reference has no scheme');
  if (/\s/.test(s)) throw new InvalidReferenceError(s, 'contains whitespace');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (digest.includes('@')) throw new InvalidReferenceError(s, 'more than one @');
    checkDigest(s, digest);
  }

  // The tag is after the last ':' that follows the last '/' (a ':' before it belongs to the registry's port).
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new InvalidReferenceError(s, `invalid tag ${JSON.stringify(tag)}`);
  }

  let registry = DEFAULT_REGISTRY;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && repository !== '' && !repository.includes('/')) repository = `library/${repository}`;
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;

  validateParts(s, { registry, repository, tag, digest }); // errors name the string the caller gave
  return new Reference({ registry, repository, tag, digest });
}

/** True if `s` parses; never throws. */
export function isReference(s: unknown): boolean {
  try {
    parseReference(s as string);
    return true;
  } catch {
    return false;
  }
}

const KNOWN_TRANSPORTS: Record<string, string> = {
  docker: 'oci',
  oci: 'oci',
  dir: 'dir',
  'docker-archive': 'docker-archive',
  'oci-archive': 'oci-archive',
  tarball: 'tarball',
};

/**
 * The transport of a `transport:ref` image name, as the original: the part before the first `:`; `docker` and
 * `oci` give `oci`; `dir`, `docker-archive`, `oci-archive` and `tarball` are kept; anything else, and a name
 * without `:`, gives `oci`. (So a plain reference such as `localhost:5000/x` is `oci`.)
 */
export function transportFromImageName(s: string): string {
  const colon = s.indexOf(':');
  if (colon < 0) return 'oci';
  return Object.hasOwn(KNOWN_TRANSPORTS, s.slice(0, colon)) ? KNOWN_TRANSPORTS[s.slice(0, colon)]! : 'oci';
}
