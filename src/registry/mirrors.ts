/**
 * Registry mirrors, in the shape of containers' `registries.conf`: for a registry (as references name it:
 * `docker.io`, `ghcr.io`, `registry.example.com:5000`), a list of mirrors tried in order before the registry itself.
 * A mirror is `host[:port][/path]`: `docker.io/library/alpine` read through the mirror `mirror.example.com/hub`
 * is `mirror.example.com/hub/library/alpine`. Only reads go to mirrors (manifests and blobs; with `digestOnly`,
 * manifests by digest only, as `mirror-by-digest-only`: a tag then always asks the registry, which decides what
 * it means). Any failure of a mirror (unreachable, not there, refused, a server error, wrong bytes) moves on to the
 * next and at last to the registry: what is read is verified by digest whichever answers, and the registry stays
 * the authority. An abort stops at once.
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

/** The checked table: per registry, its mirrors and whether they take tags. */
export class MirrorTable {
  readonly #by = new Map<string, { mirrors: Mirror[]; digestOnly: boolean }>();
  /** Mirror location -> until when it is passed over. */
  readonly #down = new Map<string, number>();
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
   * a manifest by digest), which digest-only mirrors may answer.
   */
  async read<T>(repo: RepositoryName, byDigest: boolean, emit: (e: RegistryEvent) => void, read: (repo: RepositoryName) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const entry = this.#by.get(repo.registry);
    if (!entry || (entry.digestOnly && !byDigest)) return read(repo);
    for (const m of entry.mirrors) {
      if ((this.#down.get(m.location) ?? 0) > Date.now()) continue;
      const repository = m.prefix === '' ? repo.repository : `${m.prefix}/${repo.repository}`;
      try {
        return await read({ registry: m.registry, repository });
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
        // A mirror that serves wrong bytes is worth more than a debug line: the registry answers, and the user hears.
        if (category === ErrorCategory.Integrity) {
          process.emitWarning(`mirror ${m.location} of ${repo.registry} served content that failed verification (${reason}); read from the next source instead`, {
            code: 'MOTECACHE_MIRROR_INTEGRITY',
          });
        }
      }
    }
    return read(repo);
  }
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
