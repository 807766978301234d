/**
 * `login` and `logout` as skopeo and podman do them (containers/common `pkg/auth`): credentials are checked against
 * the registry before they are written; they go to the containers auth file (see `loginTarget`), or to the
 * credential helper that file names for the registry.
 */
import fs from 'node:fs';
import { ErrorCategory, InvalidArgumentError, MoteError } from '../../errors.js';
import { RegistryClient } from '../client.js';
import { InvalidCredentialsError } from '../errors.js';
import type { RegistryClientOptions } from '../types.js';
import { RegistryCredential, registryKey } from './auth-file.js';
import { loginKeyString, parseLoginKey, removeAllLogins, removeLogin, storeLogin, type LoginKey } from './auth-file-edit.js';
import { loginTarget, type AuthFileLookup } from './auth-paths.js';
import { FileCredentialSource, type FoundCredential } from './credential-sources.js';

/** `logout` (or `login --get-login`) for a registry the auth files hold nothing for. `ERR_NOT_LOGGED_IN`. */
export class NotLoggedInError extends MoteError {
  readonly registry: string;
  constructor(registry: string, detail: string) {
    super('ERR_NOT_LOGGED_IN', `not logged in to ${registry}${detail}`, { category: ErrorCategory.NotFound });
    this.registry = registry;
  }
}

export interface LoginOptions extends AuthFileLookup {
  username?: string | undefined;
  password?: string | undefined;
  /** Hosts allowed plain HTTP or unverified TLS for the check (as `RegistryClient`'s `insecure`). */
  insecure?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
  /** Further options of the client that checks the credentials (timeouts, retries, events). */
  client?: Omit<RegistryClientOptions, 'credentials' | 'authFile' | 'insecure'>;
}

export interface LoginResult {
  /** The key logged in to: `host[/namespace]`. */
  registry: string;
  username: string;
  /** The auth file written (or whose `credHelpers` named the helper). */
  file: string;
  /** The helper that keeps the credential, when the file names one for this host. */
  helper?: string;
  /** No credentials were given and the ones already stored are valid: nothing was written. */
  alreadyLoggedIn: boolean;
}

function display(key: LoginKey): string {
  return key.namespace === undefined ? key.host : `${key.host}/${key.namespace}`;
}

/**
 * Checks `credential` against `host`: `GET /v2/` through a `RegistryClient` that has only this credential, so a
 * registry that asks for authentication (Basic, or a Bearer token from its realm) must accept it. Throws
 * `RegistryAuthError` when it does not, and whatever else the client throws (unreachable, TLS).
 */
export async function checkCredentials(
  host: string,
  credential: RegistryCredential,
  options: Pick<LoginOptions, 'insecure' | 'signal' | 'client'> = {},
): Promise<void> {
  const wanted = registryKey(host);
  const client = new RegistryClient({
    ...options.client,
    insecure: [...(options.insecure ?? [])],
    credentials: { get: async (registry) => (registryKey(registry) === wanted ? credential : undefined) },
  });
  try {
    await client.ping(host, { ...(options.signal && { signal: options.signal }) });
  } finally {
    await client.close();
  }
}

/** The credential the auth files (and their helpers) give for `registry` (`host[/namespace]`), and where from. */
export async function findLogin(registry: string, options: AuthFileLookup = {}): Promise<FoundCredential | undefined> {
  const key = parseLoginKey(registry);
  return new FileCredentialSource(options).find(key.host, key.namespace);
}

/**
 * Logs in to `registry` (`host[:port]`, `host/namespace[/repo]`, or a URL): checks `username`/`password` against
 * it, then records them in the auth file `loginTarget` names, keeping its other entries. Without a username and
 * password, the credential already stored is checked instead (`alreadyLoggedIn`); with only a password, the stored
 * username is used. Throws `InvalidArgumentError` for missing credentials or a bad registry, `RegistryAuthError` when
 * the registry refuses them (nothing is written then), `InvalidCredentialsError` for an auth file that cannot be
 * read or written, the credential helpers' errors.
 */
export async function login(registry: string, options: LoginOptions = {}): Promise<LoginResult> {
  const key = parseLoginKey(registry);
  if (options.authFile === '') throw new InvalidCredentialsError('the auth file name is empty');
  const target = loginTarget(options);
  loginKeyString(key, target.dockerCompat); // refuses what the target file cannot hold, before anything is sent
  const shown = display(key);
  let { username, password } = options;
  if (username === '') throw new InvalidArgumentError('the username is empty');
  if (password === '') throw new InvalidArgumentError('the password is empty');
  if (username === undefined || password === undefined) {
    // A file named for login may not exist yet: then nothing is stored.
    const fresh = options.authFile !== undefined && options.authFile !== '' && !fs.existsSync(options.authFile);
    const existing = fresh ? undefined : await findLogin(shown, options);
    const stored = existing && !existing.credential.identityToken ? existing.credential : undefined;
    if (username === undefined && password === undefined) {
      if (!stored) throw new InvalidArgumentError(`no credentials given for ${shown} and none stored: give a username and a password`);
      await checkCredentials(key.host, stored, options);
      return { registry: shown, username: stored.username, file: existing!.file, ...(existing!.helper && { helper: existing!.helper }), alreadyLoggedIn: true };
    }
    if (username !== undefined) throw new InvalidArgumentError(`no password given for ${username} at ${shown}`);
    if (!stored) throw new InvalidArgumentError(`no username given for ${shown}, and none stored`);
    username = stored.username;
  }
  if (username.includes(':')) throw new InvalidArgumentError('the username contains ":" (Basic authentication cannot carry it)');
  await checkCredentials(key.host, new RegistryCredential(username, password!), options);
  const stored = await storeLogin(target, key, username, password!, { env: options.env, helperTimeoutMs: options.helperTimeoutMs, signal: options.signal });
  return { registry: shown, username, file: stored.file, ...(stored.helper && { helper: stored.helper }), alreadyLoggedIn: false };
}

export interface LogoutResult {
  registry: string;
  file: string;
  /** `auths` keys removed from the file. */
  keys: string[];
  /** The helper the credential was erased from. */
  helper?: string;
}

/**
 * Removes the login for `registry` from the auth file `loginTarget` names (and from the helper its `credHelpers`
 * names for the host). Throws `NotLoggedInError` when there was none there (saying which other file still gives
 * credentials for it, if one does), `InvalidCredentialsError` when an explicit file does not exist.
 */
export async function logout(registry: string, options: Omit<LoginOptions, 'username' | 'password' | 'insecure' | 'client'> = {}): Promise<LogoutResult> {
  const key = parseLoginKey(registry);
  const target = loginTarget(options);
  // A file named with authFile must exist (skopeo's CheckAuthFile); the default one may be missing.
  if (options.authFile !== undefined) new FileCredentialSource({ ...options, authFile: options.authFile }).check();
  const removed = await removeLogin(target, key, { env: options.env, helperTimeoutMs: options.helperTimeoutMs, signal: options.signal });
  const shown = display(key);
  if (removed.keys.length === 0 && !removed.helper) {
    let elsewhere = '';
    try {
      const found = await findLogin(shown, { ...options, authFile: undefined });
      if (found) elsewhere = `; its credentials come from ${found.helper ? `${found.helper}, named in ` : ''}${found.file}`;
    } catch {
      /* the other files are not the question here */
    }
    throw new NotLoggedInError(shown, ` in ${target.file}${elsewhere}`);
  }
  return { registry: shown, file: removed.file, keys: removed.keys, ...(removed.helper && { helper: removed.helper }) };
}

/** Removes every login from the auth file `loginTarget` names (see `removeAllLogins`). */
export async function logoutAll(options: Omit<LoginOptions, 'username' | 'password' | 'insecure' | 'client'> = {}): Promise<{ file: string; keys: string[]; helpers: string[] }> {
  const target = loginTarget(options);
  if (options.authFile !== undefined) new FileCredentialSource({ ...options, authFile: options.authFile }).check();
  const r = await removeAllLogins(target, { env: options.env, helperTimeoutMs: options.helperTimeoutMs, signal: options.signal });
  return { file: r.file, keys: r.keys, helpers: r.helpers };
}
