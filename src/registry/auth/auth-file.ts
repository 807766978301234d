/**
 * Registry credentials from auth files: Docker's `config.json` (`{"auths": {...}}`), the bare map Kubernetes
 * keeps in `.dockercfg` secrets (`{host: {...}}`), and containers' `auth.json` (the Docker format, whose keys may
 * also name a namespace or repository: `host/namespace/repo`, the most specific match wins).
 *
 * A file may also name external credential helper programs (`docker-credential-<name>`, see
 * `credential-helper.ts`): `credsStore` for every registry, `credHelpers` per registry host. They are read here
 * ({@link parseAuthConfig}) and run by `FileCredentialSource`; the entry Docker leaves in `auths` for a registry
 * whose credential lives in a helper (`{}`) carries no secret and is skipped.
 */
import { inspect } from 'node:util';
import { InvalidCredentialsError } from '../errors.js';
import type { Credential } from '../types.js';

/**
 * A credential whose secrets stay out of `JSON.stringify`, `String()`, `util.inspect` and `console.log`: they
 * live in private fields behind getters, so only code that asks for `.password` by name sees it.
 */
export class RegistryCredential implements Credential {
  readonly username: string;
  readonly #password: string;
  readonly #identityToken: string | undefined;
  constructor(username: string, password: string, identityToken?: string) {
    this.username = username;
    this.#password = password;
    this.#identityToken = identityToken || undefined;
  }
  get password(): string {
    return this.#password;
  }
  get identityToken(): string | undefined {
    return this.#identityToken;
  }
  toJSON(): Record<string, string> {
    return { username: this.username, password: '<redacted>', ...(this.#identityToken ? { identityToken: '<redacted>' } : {}) };
  }
  toString(): string {
    return `RegistryCredential(${this.username})`;
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

const DOCKER_HUB_KEYS = new Set(['index.docker.io', 'docker.io', 'registry-1.docker.io']);
/** Where credentials for Docker Hub are filed once normalised. */
export const DOCKER_HUB_REGISTRY = 'docker.io';

// host (DNS name or IPv4) or [IPv6], optional :port.
const HOST_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;
const SCHEME_RE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
// The legacy API paths Docker writes after a host (`https://index.docker.io/v1/`): not a repository scope.
const API_PATH_RE = /^\/v[12]\/?$/;

/** A key of an auth file, split: the host, and the namespace/repository it is restricted to (containers). */
export interface AuthKey {
  host: string;
  namespace: string | undefined;
}

/**
 * Normalises an auth-file key. With a scheme (`https://host:5000/v2`), or when the path is a legacy API path
 * (`/v1`, `/v2/`), only the host counts (Docker's rule); a scheme-less key with another path is a containers
 * namespace key (`quay.io/org/repo`). Docker Hub's aliases become `docker.io`. Throws `InvalidCredentialsError`.
 */
export function parseAuthKey(key: string, file?: string): AuthKey {
  if (typeof key !== 'string') throw new InvalidCredentialsError('registry key is not a string', { file });
  const hadScheme = SCHEME_RE.test(key);
  const stripped = key.replace(SCHEME_RE, '');
  const slash = stripped.indexOf('/');
  const host = slash < 0 ? stripped : stripped.slice(0, slash);
  const rest = slash < 0 ? '' : stripped.slice(slash);
  if (host === '' || !HOST_RE.test(host)) {
    throw new InvalidCredentialsError('invalid registry host in auth file key', { file, key });
  }
  const lower = host.toLowerCase();
  const normalHost = DOCKER_HUB_KEYS.has(lower) ? DOCKER_HUB_REGISTRY : lower;
  if (hadScheme || rest === '' || API_PATH_RE.test(rest)) return { host: normalHost, namespace: undefined };
  const namespace = rest.slice(1).replace(/\/+$/, '');
  if (namespace === '' || !/^[a-z0-9]+(?:(?:[._]|__|-+|\/)[a-z0-9]+)*$/.test(namespace)) {
    throw new InvalidCredentialsError('invalid namespace in auth file key', { file, key });
  }
  return { host: normalHost, namespace };
}

/** The host an auth-file key (or a user-typed registry address) names: `https://gcr.io/v1/` → `gcr.io`. */
export function normalizeRegistryHost(key: string): string {
  const { host } = parseAuthKey(key);
  return host;
}

/** The key credentials of a registry (as used in references) are looked up by. */
export function registryKey(registry: string): string {
  const lower = registry.toLowerCase();
  return DOCKER_HUB_KEYS.has(lower) ? DOCKER_HUB_REGISTRY : lower;
}

interface Entry {
  namespace: string | undefined;
  credential: RegistryCredential;
}

/** The credentials of one auth file, by normalised host. */
export type AuthFileContents = Map<string, Entry[]>;

const ENTRY_FIELDS = ['auth', 'username', 'password', 'identitytoken'];

function isEntryLike(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).some((k) => ENTRY_FIELDS.includes(k));
}

function decodeEntry(value: unknown, file: string | undefined, key: string): RegistryCredential | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidCredentialsError('entry is not an object', { file, key });
  }
  const v = value as Record<string, unknown>;
  for (const f of ENTRY_FIELDS) {
    if (v[f] !== undefined && typeof v[f] !== 'string') throw new InvalidCredentialsError(`field "${f}" is not a string`, { file, key });
  }
  let username = (v.username as string | undefined) ?? '';
  let password = (v.password as string | undefined) ?? '';
  const identityToken = (v.identitytoken as string | undefined) || undefined;
  const auth = v.auth as string | undefined;
  if (auth) {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(auth)) throw new InvalidCredentialsError('"auth" is not base64', { file, key });
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidCredentialsError('"auth" does not decode to "username:password"', { file, key });
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  if (!username && !password && !identityToken) return undefined; // a credsStore placeholder: nothing to use
  if (!identityToken && (!username || !password)) {
    throw new InvalidCredentialsError('entry needs both a username and a password', { file, key });
  }
  return new RegistryCredential(username, password, identityToken);
}

/**
 * Parses the text of an auth file in any of the three formats. `file` only names the source in errors.
 * Throws `InvalidCredentialsError` on bad JSON, bad keys or bad entries (naming the file and key).
 */
export function parseAuthFile(text: string, file?: string): AuthFileContents {
  return authsOf(parseDocument(text, file), file);
}

function authsOf(top: Record<string, unknown>, file: string | undefined): AuthFileContents {
  let map: Record<string, unknown>;
  if ('auths' in top) {
    if (typeof top.auths !== 'object' || top.auths === null || Array.isArray(top.auths)) {
      throw new InvalidCredentialsError('"auths" is not an object', { file });
    }
    map = top.auths as Record<string, unknown>;
  } else {
    // The bare map (Kubernetes `.dockercfg`): hosts at the top level. Other top-level keys of a config.json
    // (credsStore, credHelpers, HttpHeaders, ...) are not entries and are ignored.
    map = Object.fromEntries(Object.entries(top).filter(([, v]) => isEntryLike(v)));
  }
  const out: AuthFileContents = new Map();
  for (const [key, value] of Object.entries(map)) {
    const { host, namespace } = parseAuthKey(key, file);
    const credential = decodeEntry(value, file, key);
    if (!credential) continue;
    const list = out.get(host) ?? [];
    list.push({ namespace, credential });
    out.set(host, list);
  }
  return out;
}

/** An auth file's credential helpers: `credsStore`, and `credHelpers` by normalised host. */
export interface AuthFileHelpers {
  /** `credsStore`: the helper for every registry without a `credHelpers` entry (`''` in the file: none). */
  credsStore: string | undefined;
  /**
   * `credHelpers`, by normalised host (`https://index.docker.io/v1/` → `docker.io`). A value of `''` means "no
   * helper for this host": its credential is looked for in `auths` only, not in `credsStore` (Docker's rule).
   * Keys with a repository path are not matched (helpers hold credentials per registry, not per repository).
   */
  credHelpers: Map<string, string>;
}

/** Everything an auth file says: its credentials and its credential helpers. */
export interface AuthConfig extends AuthFileHelpers {
  auths: AuthFileContents;
}

// `docker-credential-<name>` is looked up on PATH: a name is a plain file name, never a path or an option.
const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;

/** Checks a credential helper's name as an auth file gives it; throws `InvalidCredentialsError` naming the file. */
export function checkHelperName(name: unknown, file: string | undefined, key: string): string {
  if (typeof name !== 'string') throw new InvalidCredentialsError('credential helper name is not a string', { file, key });
  if (name !== '' && !HELPER_NAME_RE.test(name)) {
    throw new InvalidCredentialsError(`credential helper name ${JSON.stringify(name.slice(0, 100))} is not a plain program name`, { file, key });
  }
  return name;
}

function parseHelpers(top: Record<string, unknown>, file: string | undefined): AuthFileHelpers {
  const store = top.credsStore === undefined ? '' : checkHelperName(top.credsStore, file, 'credsStore');
  const credHelpers = new Map<string, string>();
  const raw = top.credHelpers;
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidCredentialsError('"credHelpers" is not an object', { file });
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      const name = checkHelperName(value, file, `credHelpers.${key}`);
      const { host, namespace } = parseAuthKey(key, file);
      if (namespace === undefined) credHelpers.set(host, name);
    }
  }
  return { credsStore: store === '' ? undefined : store, credHelpers };
}

function parseDocument(text: string, file: string | undefined): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's message may quote the text, which may hold a secret: it is not passed on.
    throw new InvalidCredentialsError('auth file is not valid JSON', { file });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidCredentialsError('auth file is not a JSON object', { file });
  return doc as Record<string, unknown>;
}

/**
 * Parses an auth file in any of the three formats, with its credential helpers (`credsStore`, `credHelpers`: read
 * at the top level in every format). Throws `InvalidCredentialsError` as {@link parseAuthFile} does, and for a
 * helper name that is not a plain program name.
 */
export function parseAuthConfig(text: string, file?: string): AuthConfig {
  const top = parseDocument(text, file);
  return { auths: authsOf(top, file), ...parseHelpers(top, file) };
}

/** The credential for `registry` (and `repository`, for namespace keys) in parsed contents. */
export function lookupCredential(contents: AuthFileContents, registry: string, repository?: string): RegistryCredential | undefined {
  const entries = contents.get(registryKey(registry));
  if (!entries) return undefined;
  let best: Entry | undefined;
  for (const e of entries) {
    if (e.namespace === undefined) {
      if (!best) best = e;
      continue;
    }
    if (repository === undefined) continue;
    if (repository !== e.namespace && !repository.startsWith(`${e.namespace}/`)) continue;
    if (best?.namespace === undefined || e.namespace.length > best.namespace.length) best = e;
  }
  return best?.credential;
}
