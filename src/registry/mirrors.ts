/**
 * Registry mirrors, in the shape of containers' `registries.conf`: for a registry (as references name it:
 * `docker.io`, `ghcr.io`, `registry.example.com:5000`), a list of mirrors tried in order before the registry itself.
 * A mirror is `host[:port][/path]`: `docker.io/library/alpine` read through the mirror `mirror.example.com/hub`
 * is `mirror.example.com/hub/library/alpine`. Only reads go to mirrors (manifests and blobs; with `digestOnly`,
 * manifests by digest only, as `mirror-by-digest-only`: a tag then always asks the registry, which decides what
 * it means). Any failure of a mirror (unreachable, not there, refused, a server error, wrong bytes) moves on to the
 * next and at last to the registry: what is read is verified by digest whichever answers, and the registry stays
 * the authority. An abort stops at once. A blob's wrong bytes are found by its reader after the read returned, out
 * of sight here: the reader says so (`reject`), and the mirrors that served them are passed over for that blob.
 */
import { ErrorCategory, InvalidArgumentError, errorCategory } from '../errors.js';
import { isValidRepository, registryHostProblem } from '../oci/names.js';
import type { MirrorsOption, RegistryEvent, RegistryMirror, RepositoryName } from './types.js';

interface Mirror {
  registry: string;
  prefix: string;
  location: string;
}

/**
 * A mirror found unavailable (unreachable, failing, rate limiting, after the client's retries) is passed over for
 * this long: every read would otherwise pay its retries again (seconds each) before reaching the registry.
 */
export const MIRROR_DOWN_MS = 60_000;

/**
 * Blobs remembered per table, for which mirrors served them and which are not to be asked for them again
 * (`reject`): a long-lived client (`mote serve`) reads without end, and a read rejected that long ago is over.
 */
const REMEMBERED_BLOBS = 4096;

/** The checked table: per registry, its mirrors and whether they take tags. */
export class MirrorTable {
  readonly #by = new Map<string, { mirrors: Mirror[]; digestOnly: boolean }>();
  /** Mirror location -> until when it is passed over. */
  readonly #down = new Map<string, number>();
  /** Registry and blob digest -> the mirrors that served it (whole or a range) since it was last rejected. */
  readonly #servedBy = new Map<string, Set<string>>();
  /** Registry and blob digest -> mirrors whose bytes of it failed verification: not asked for it again. */
  readonly #rejected = new Map<string, Set<string>>();
  /** Hosts of mirrors marked insecure (the client adds them to its own list). */
  readonly insecureHosts: string[] = [];

  constructor(option: MirrorsOption | undefined) {
    if (option === undefined) return;
    if (typeof option !== 'object' || option === null || Array.isArray(option)) throw new InvalidArgumentError('mirrors: an object of registry host -> { mirrors, digestOnly? }');
    for (const [key, entry] of Object.entries(option)) {
      // As references name it: Docker Hub's other names are docker.io, or the entry would never match.
      const registry = DOCKER_HUB_ALIASES.has(key) ? 'docker.io' : key;
      const hostProblem = registryHostProblem(registry);
      if (hostProblem) throw new InvalidArgumentError(`mirrors: ${JSON.stringify(registry)} is not a registry host (${hostProblem})`);
      if (typeof entry !== 'object' || entry === null || !Array.isArray(entry.mirrors)) throw new InvalidArgumentError(`mirrors[${registry}]: give { mirrors: [{ location }] }`);
      // Strict: a registries.conf habit (mirror-by-digest-only, blocked, prefix) must not be silently ignored.
      onlyKeys(entry, ['mirrors', 'digestOnly'], `mirrors[${registry}]`);
      if (this.#by.has(registry)) throw new InvalidArgumentError(`mirrors[${registry}]: given twice (${key})`);
      if (entry.digestOnly !== undefined && typeof entry.digestOnly !== 'boolean') throw new InvalidArgumentError(`mirrors[${registry}].digestOnly: true or false`);
      if (entry.mirrors.length > 16) throw new InvalidArgumentError(`mirrors[${registry}]: at most 16 mirrors`);
      const mirrors = entry.mirrors.map((m, i) => parseMirror(m, `mirrors[${registry}][${i}]`));
      for (const [i, m] of mirrors.entries()) if (entry.mirrors[i]!.insecure === true) this.insecureHosts.push(m.registry);
      this.#by.set(registry, { mirrors, digestOnly: entry.digestOnly === true });
    }
  }

  /**
   * Runs `read` against each mirror of `repo`'s registry in turn (its repository under the mirror's path), then
   * against `repo` itself; the first success is returned. `byDigest`: the read names content by digest (a blob,
   * a manifest by digest), which digest-only mirrors may answer. A blob's bytes are verified by whoever reads them,
   * after this returns: for those, `byDigest` is the blob's digest, so that `reject` knows which mirrors served it.
   */
  async read<T>(repo: RepositoryName, byDigest: boolean | string, emit: (e: RegistryEvent) => void, read: (repo: RepositoryName) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const entry = this.#by.get(repo.registry);
    if (!entry || (entry.digestOnly && !byDigest)) return read(repo);
    const blob = typeof byDigest === 'string' ? blobKey(repo, byDigest) : undefined;
    const rejected = blob === undefined ? undefined : this.#rejected.get(blob);
    for (const m of entry.mirrors) {
      if ((this.#down.get(m.location) ?? 0) > Date.now() || rejected?.has(m.location)) continue;
      const repository = m.prefix === '' ? repo.repository : `${m.prefix}/${repo.repository}`;
      try {
        const result = await read({ registry: m.registry, repository });
        if (blob !== undefined) remember(this.#servedBy, blob, m.location);
        return result;
      } catch (err) {
        if (signal?.aborted || (err as { name?: unknown })?.name === 'AbortError') throw err;
        // The registry's text, shown on a terminal by --debug: one line, no control characters, bounded.
        const raw = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
        const reason = raw.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').slice(0, 500);
        emit({ type: 'mirror-fallback', registry: repo.registry, mirror: m.location, reason });
        // Not there is a fact about one repository; unavailable is the mirror's state, for a while.
        const category = errorCategory(err);
        // A mirror that lied is passed over too: once is enough to hear about it.
        if (category === ErrorCategory.Unavailable || category === ErrorCategory.Integrity) this.#down.set(m.location, Date.now() + MIRROR_DOWN_MS);
        if (category === ErrorCategory.Integrity) integrityWarning(m.location, repo.registry, reason);
      }
    }
    return read(repo);
  }

  /**
   * The bytes of blob `digest` read for `repo` failed verification (by its reader, after `read` returned). The
   * mirrors that served them are not asked for that blob again, nor for anything for `MIRROR_DOWN_MS`; true if
   * there were any (a read from the start now goes to the next mirror or the registry), false if the registry
   * itself served them.
   */
  reject(repo: RepositoryName, digest: string, emit: (e: RegistryEvent) => void): boolean {
    const blob = blobKey(repo, digest);
    const served = this.#servedBy.get(blob);
    if (!served) return false;
    this.#servedBy.delete(blob);
    for (const location of served) {
      // Not asked for this blob again; for anything else, passed over for a while (as a manifest's wrong bytes are).
      remember(this.#rejected, blob, location);
      this.#down.set(location, Date.now() + MIRROR_DOWN_MS);
      const reason = `blob ${digest} failed verification`;
      emit({ type: 'mirror-fallback', registry: repo.registry, mirror: location, reason });
      integrityWarning(location, repo.registry, reason);
    }
    return true;
  }
}

// A mirror that serves wrong bytes is worth more than a debug line: the registry answers, and the user hears.
function integrityWarning(location: string, registry: string, reason: string): void {
  process.emitWarning(`mirror ${location} of ${registry} served content that failed verification (${reason}); read from the next source instead`, {
    code: 'MOTECACHE_MIRROR_INTEGRITY',
  });
}

const blobKey = (repo: RepositoryName, digest: string): string => `${repo.registry}\n${digest}`;

/** Adds `location` to `key`'s set, the oldest key forgotten past `REMEMBERED_BLOBS`. */
function remember(map: Map<string, Set<string>>, key: string, location: string): void {
  const set = map.get(key) ?? new Set<string>();
  set.add(location);
  map.delete(key); // re-inserted: the newest
  map.set(key, set);
  if (map.size > REMEMBERED_BLOBS) map.delete(map.keys().next().value!);
}

const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

function onlyKeys(o: object, allowed: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new InvalidArgumentError(`${where}: unknown key ${JSON.stringify(k)} (known: ${allowed.join(', ')})`);
  }
}

function parseMirror(m: RegistryMirror, where: string): Mirror {
  if (typeof m !== 'object' || m === null || typeof m.location !== 'string') throw new InvalidArgumentError(`${where}: give { location: "host[:port][/path]" }`);
  onlyKeys(m, ['location', 'insecure'], where);
  if (m.insecure !== undefined && typeof m.insecure !== 'boolean') throw new InvalidArgumentError(`${where}.insecure: true or false`);
  const location = m.location.replace(/\/+$/, '');
  const slash = location.indexOf('/');
  const registry = slash === -1 ? location : location.slice(0, slash);
  const prefix = slash === -1 ? '' : location.slice(slash + 1);
  const hostProblem = registryHostProblem(registry);
  if (hostProblem) throw new InvalidArgumentError(`${where}: ${JSON.stringify(m.location)}: the host is not one (${hostProblem})`);
  if (prefix !== '' && !isValidRepository(prefix)) throw new InvalidArgumentError(`${where}: ${JSON.stringify(m.location)}: the path is not a repository path`);
  return { registry, prefix, location };
}
