/**
 * Where credentials come from: the first existing auth file (re-read when it changes), or a fixed set held in
 * memory. The files' formats are read by `auth-file.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isErrno } from '../../internal/errno.js';
import { InvalidCredentialsError } from '../errors.js';
import type { Credential, CredentialSource } from '../types.js';
import { RegistryCredential, lookupCredential, normalizeRegistryHost, parseAuthFile, registryKey, type AuthFileContents } from './auth-file.js';

/** A system error's code (`EISDIR`, `EACCES`) for a message: never its text, which could quote a path's content. */
const errnoCode = (err: unknown): string => String((err as { code?: unknown }).code ?? 'unknown error');

export interface AuthFileLookup {
  /** An explicit file: used alone, and an error if it does not exist (`''` included: it names no file). */
  authFile?: string | undefined;
  /** Environment to read `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `DOCKER_CONFIG` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Home directory for `~/.docker/config.json`. Default `os.homedir()`. */
  homedir?: string;
}

/**
 * The auth files looked at, in order: `authFile`, else `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 * `$DOCKER_CONFIG/config.json`, `~/.docker/config.json`. The first that exists is used.
 */
export function authFileCandidates(lookup: AuthFileLookup = {}): string[] {
  if (lookup.authFile !== undefined) return [lookup.authFile];
  const env = lookup.env ?? process.env;
  const list: string[] = [];
  if (env.REGISTRY_AUTH_FILE) list.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) list.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  if (env.DOCKER_CONFIG) list.push(path.join(env.DOCKER_CONFIG, 'config.json'));
  list.push(path.join(lookup.homedir ?? os.homedir(), '.docker', 'config.json'));
  return list;
}

/**
 * Credentials from the first existing auth file (see {@link authFileCandidates}), re-read whenever that file's
 * modification time, size or inode changes (so `docker login` in another terminal is picked up) and whenever a
 * different candidate becomes the first existing one.
 */
export class FileCredentialSource implements CredentialSource {
  readonly #lookup: AuthFileLookup;
  #cached: { file: string; stamp: string; contents: AuthFileContents } | undefined;

  constructor(lookup: AuthFileLookup = {}) {
    this.#lookup = { ...lookup };
  }

  /**
   * Reads the auth file now: an explicit `authFile` that is missing, unreadable or malformed throws
   * `InvalidCredentialsError` (a default-location file may be missing; one that exists must parse). For callers
   * that want a bad explicit file reported up front rather than when a registry first asks for credentials.
   */
  check(): void {
    this.#load();
  }

  /** The auth file currently in use, if any. */
  currentFile(): string | undefined {
    return this.#current()?.file;
  }

  #current(): { file: string; stat: fs.Stats } | undefined {
    for (const file of authFileCandidates(this.#lookup)) {
      if (file === '') throw new InvalidCredentialsError('the auth file name is empty');
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file);
      } catch (err) {
        const missing = isErrno(err, 'ENOENT', 'ENOTDIR');
        // A file the user named must be there; a default location may simply not be in use.
        if (missing && this.#lookup.authFile === undefined) continue;
        throw new InvalidCredentialsError(missing ? 'auth file does not exist' : `auth file cannot be read (${errnoCode(err)})`, { file });
      }
      return { file, stat };
    }
    return undefined;
  }

  #load(): AuthFileContents | undefined {
    const current = this.#current();
    if (!current) {
      this.#cached = undefined;
      return undefined;
    }
    const { file, stat } = current;
    const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    if (this.#cached && this.#cached.file === file && this.#cached.stamp === stamp) return this.#cached.contents;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidCredentialsError(`auth file cannot be read (${errnoCode(err)})`, { file });
    }
    const contents = parseAuthFile(text, file);
    this.#cached = { file, stamp, contents };
    return contents;
  }

  async get(registry: string, repository?: string): Promise<Credential | undefined> {
    const contents = this.#load();
    return contents && lookupCredential(contents, registry, repository);
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
