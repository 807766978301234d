/**
 * Where credentials come from: the auth files (re-read when they change) and the credential helpers they name, or
 * a fixed set held in memory. The files' formats are read by `auth-file.ts`, their places are in `auth-paths.ts`,
 * the helpers are run by `credential-helper.ts`.
 */
import fs from 'node:fs';
import { isErrno } from '../../internal/errno.js';
import { InvalidCredentialsError } from '../errors.js';
import type { Credential, CredentialSource } from '../types.js';
import { RegistryCredential, lookupCredential, normalizeRegistryHost, parseAuthConfig, registryKey, type AuthConfig } from './auth-file.js';
import { authFileCandidates, type AuthFileLookup } from './auth-paths.js';
import { credentialHelperGet, helperServerURLs, type HelperOrigin } from './credential-helper.js';

export { authFileCandidates, type AuthFileLookup } from './auth-paths.js';

/** A system error's code (`EISDIR`, `EACCES`) for a message: never its text, which could quote a path's content. */
const errnoCode = (err: unknown): string => String((err as { code?: unknown }).code ?? 'unknown error');

/**
 * A credential helper's answer (or its "nothing for this server") is reused this long: a Basic-auth registry asks
 * for the credential on every request, and a helper run costs a process. Short enough that a long-running process
 * (`mote warm`) picks up a renewed cloud token.
 */
export const HELPER_ANSWER_TTL_MS = 60_000;

/** A credential and where it was found. */
export interface FoundCredential {
  credential: RegistryCredential;
  /** The auth file that has it, or names the helper that answered. */
  file: string;
  /** The helper that answered (`docker-credential-<name>`), when it came from one. */
  helper?: string;
}

/**
 * Credentials from the auth files (see {@link authFileCandidates}): each file in order is asked, and the first
 * that has a credential for the registry gives it; a registry none of them knows is accessed anonymously. With an
 * explicit `authFile`, that file alone. Within a file, as containers/image and Docker decide:
 *
 * 1. `credHelpers[host]`: that helper's answer (nothing found: the next file); `""` means no helper for this host
 * 2. `auths`: the most specific key (`host/namespace/repo`, ..., `host`)
 * 3. `credsStore`: that helper's answer, unless `credHelpers` names the host
 *
 * Files are re-read whenever their modification time, size or inode changes (so a `docker login` in another
 * terminal is picked up); helper answers are kept {@link HELPER_ANSWER_TTL_MS}.
 */
export class FileCredentialSource implements CredentialSource {
  readonly #lookup: AuthFileLookup;
  readonly #files = new Map<string, { stamp: string; config: AuthConfig }>();
  readonly #answers = new Map<string, { expiresAt: number; answer: Promise<RegistryCredential | undefined> }>();

  constructor(lookup: AuthFileLookup = {}) {
    this.#lookup = { ...lookup };
  }

  /**
   * Reads the auth files now: an explicit `authFile` that is missing, unreadable or malformed throws
   * `InvalidCredentialsError` (a default-location file may be missing; one that exists must parse). For callers
   * that want a bad explicit file reported up front rather than when a registry first asks for credentials.
   */
  check(): void {
    for (const file of authFileCandidates(this.#lookup)) this.#load(file);
  }

  /** The first auth file that exists (the one looked in first), if any. */
  currentFile(): string | undefined {
    return this.files()[0];
  }

  /** The auth files that exist, in the order they are looked in. */
  files(): string[] {
    return authFileCandidates(this.#lookup).filter((file) => this.#stat(file) !== undefined);
  }

  #stat(file: string): fs.Stats | undefined {
    if (file === '') throw new InvalidCredentialsError('the auth file name is empty');
    try {
      return fs.statSync(file);
    } catch (err) {
      const missing = isErrno(err, 'ENOENT', 'ENOTDIR');
      // A file the user named must be there; a default location may simply not be in use.
      if (missing && this.#lookup.authFile === undefined) return undefined;
      throw new InvalidCredentialsError(missing ? 'auth file does not exist' : `auth file cannot be read (${errnoCode(err)})`, { file });
    }
  }

  #load(file: string): AuthConfig | undefined {
    const stat = this.#stat(file);
    if (!stat) {
      this.#files.delete(file);
      return undefined;
    }
    const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    const cached = this.#files.get(file);
    if (cached && cached.stamp === stamp) return cached.config;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidCredentialsError(`auth file cannot be read (${errnoCode(err)})`, { file });
    }
    const config = parseAuthConfig(text, file);
    this.#files.set(file, { stamp, config });
    return config;
  }

  /** The credential for `registry` (and `repository`, for namespaced keys), and where it was found. */
  async find(registry: string, repository?: string): Promise<FoundCredential | undefined> {
    for (const file of authFileCandidates(this.#lookup)) {
      const config = this.#load(file);
      if (!config) continue;
      const found = await this.#fromFile(file, config, registry, repository);
      if (found) return found;
    }
    return undefined;
  }

  async get(registry: string, repository?: string): Promise<Credential | undefined> {
    return (await this.find(registry, repository))?.credential;
  }

  async #fromFile(file: string, config: AuthConfig, registry: string, repository: string | undefined): Promise<FoundCredential | undefined> {
    const host = registryKey(registry);
    const helpers = this.#lookup.credentialHelpers !== false;
    const named = config.credHelpers.get(host);
    if (named && helpers) return this.#fromHelper(named, host, { file, key: `credHelpers[${JSON.stringify(host)}]` });
    const credential = lookupCredential(config.auths, registry, repository);
    if (credential) return { credential, file };
    if (named === undefined && config.credsStore && helpers) return this.#fromHelper(config.credsStore, host, { file, key: 'credsStore' });
    return undefined;
  }

  async #fromHelper(name: string, host: string, origin: HelperOrigin): Promise<FoundCredential | undefined> {
    for (const url of helperServerURLs(host)) {
      const key = `${name}\n${url}`;
      let entry = this.#answers.get(key);
      if (!entry || entry.expiresAt <= Date.now()) {
        const answer = credentialHelperGet(name, url, { env: this.#lookup.env, timeoutMs: this.#lookup.helperTimeoutMs, origin });
        entry = { expiresAt: Date.now() + HELPER_ANSWER_TTL_MS, answer };
        this.#answers.set(key, entry);
        // A failure is not kept: the next request runs the helper again.
        answer.catch(() => {
          if (this.#answers.get(key) === entry) this.#answers.delete(key);
        });
      }
      const credential = await entry.answer;
      if (credential) return { credential, file: origin.file!, helper: `docker-credential-${name}` };
    }
    return undefined;
  }
}

/** A fixed set of credentials by registry (for programs that hold them in memory). */
export class StaticCredentialSource implements CredentialSource {
  readonly #map = new Map<string, RegistryCredential>();
  constructor(entries: Record<string, { username: string; password: string; identityToken?: string }>) {
    for (const [registry, c] of Object.entries(entries)) {
      this.#map.set(registryKey(normalizeRegistryHost(registry)), new RegistryCredential(c.username, c.password, c.identityToken));
    }
  }
  async get(registry: string): Promise<Credential | undefined> {
    return this.#map.get(registryKey(registry));
  }
}
