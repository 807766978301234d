/**
 * Changing an auth file: adding a login, removing one or all, as `skopeo login` / `skopeo logout` do. The file is
 * read, changed and replaced atomically (a temporary in the same directory, flushed, renamed over it) with mode
 * 0600, under a lock (`<file>.lock`) so that two logins at once do not lose each other's entry. Every other entry
 * and every top-level field the file has (`credsStore`, Docker's `HttpHeaders`, ...) is kept as it was. A host
 * whose `credHelpers` entry names a helper has its credential stored in (or erased from) that helper instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { fsyncDir, siblingTemp } from '../../internal/fs.js';
import { acquireLock } from '../../internal/lockfile.js';
import { InvalidCredentialsError } from '../errors.js';
import { DOCKER_HUB_REGISTRY, parseAuthConfig, parseAuthKey, type AuthConfig } from './auth-file.js';
import type { LoginTarget } from './auth-paths.js';
import { credentialHelperErase, credentialHelperStore, helperProgram, helperServerURLs } from './credential-helper.js';

/** The key Docker files Docker Hub's credential under in `config.json`. */
const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

/** What a login is for: a registry host, or a namespace or repository in it (containers auth.json keys). */
export interface LoginKey {
  /** Normalised host (`docker.io` for Docker Hub's aliases). */
  host: string;
  namespace: string | undefined;
}

/**
 * Parses what the user names to log in to, as `skopeo login` reads it: `host[:port]`, `host[:port]/namespace[/repo]`
 * (a key of its own in auth.json), or a URL (`https://host:5000/v2/`: only its host and port count). A tag or digest
 * is refused. Throws `InvalidArgumentError`.
 */
export function parseLoginKey(arg: string): LoginKey {
  if (typeof arg !== 'string' || arg.trim() === '') throw new InvalidArgumentError('the registry to log in to is empty');
  let key = arg.trim();
  if (/^https?:\/\//i.test(key)) {
    let url: URL;
    try {
      url = new URL(key);
    } catch {
      throw new InvalidArgumentError(`${JSON.stringify(arg.slice(0, 200))} is not a registry: an unparsable URL`);
    }
    key = url.host;
  }
  const slash = key.indexOf('/');
  if (key.includes('@') || (slash >= 0 && key.slice(slash).includes(':'))) {
    throw new InvalidArgumentError(`${JSON.stringify(arg.slice(0, 200))} names a tag or digest: log in to a registry, namespace or repository`);
  }
  try {
    const { host, namespace } = parseAuthKey(key);
    return { host, namespace };
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(arg.slice(0, 200))} is not a registry host[:port][/namespace]`);
  }
}

/** The key a login is written under: `host[/namespace]`; in a Docker `config.json`, Docker Hub's is Docker's own. */
export function loginKeyString(key: LoginKey, dockerCompat: boolean): string {
  if (dockerCompat && key.namespace !== undefined) {
    throw new InvalidArgumentError(`${key.host}/${key.namespace}: a Docker config.json holds credentials per registry, not per namespace or repository`);
  }
  if (dockerCompat && key.host === DOCKER_HUB_REGISTRY) return DOCKER_HUB_CONFIG_KEY;
  return key.namespace === undefined ? key.host : `${key.host}/${key.namespace}`;
}

/** Whether an `auths` key of the file means the same host and namespace as `key` (`https://quay.io` and `quay.io`). */
function sameKey(fileKey: string, key: LoginKey): boolean {
  try {
    const k = parseAuthKey(fileKey);
    return k.host === key.host && k.namespace === key.namespace;
  } catch {
    return false;
  }
}

interface Document {
  doc: Record<string, unknown>;
  config: AuthConfig;
  auths: Record<string, unknown>;
}

function errnoCode(err: unknown): string {
  return String((err as { code?: unknown }).code ?? 'unknown error');
}

/** The file as it is (missing: empty), checked: a file this module cannot read is never overwritten. */
function readDocument(file: string): Document | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw new InvalidCredentialsError(`auth file cannot be read (${errnoCode(err)})`, { file });
  }
  const config = parseAuthConfig(text, file);
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (doc.auths === undefined && config.auths.size > 0) {
    throw new InvalidCredentialsError('auth file is in the legacy format (hosts at the top level, no "auths"): not changed', { file });
  }
  return { doc, config, auths: (doc.auths as Record<string, unknown> | undefined) ?? {} };
}

/** Writes `text` to `file` through a flushed temporary with mode 0600 and a rename: readers see the old or the new file. */
function writeAtomic(file: string, text: string): void {
  const temp = siblingTemp(file);
  try {
    const fd = fs.openSync(temp, 'wx', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw new InvalidCredentialsError(`auth file cannot be written (${errnoCode(err)})`, { file });
  }
}

/** The file to change: a symbolic link (a dotfiles repository's) is written through, as Docker does. */
function resolveTarget(file: string): string {
  try {
    if (fs.lstatSync(file).isSymbolicLink()) return fs.realpathSync(file);
  } catch {
    /* missing, or a dangling link: written where it is named */
  }
  return file;
}

/**
 * Creates the file's directory (mode 0700) if needed. Not `$XDG_RUNTIME_DIR` itself: a runtime directory that does
 * not exist is a mistake in the environment (containers/image refuses it too), not something to create.
 */
function ensureDirectory(file: string, env: NodeJS.ProcessEnv): void {
  const dir = path.dirname(file);
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && dir === path.join(runtime, 'containers') && !fs.existsSync(runtime)) {
    throw new InvalidCredentialsError(`the directory $XDG_RUNTIME_DIR names (${runtime}) does not exist: create it, unset XDG_RUNTIME_DIR or use --authfile`, { file });
  }
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new InvalidCredentialsError(`cannot create the auth file's directory (${errnoCode(err)}): set XDG_RUNTIME_DIR or REGISTRY_AUTH_FILE, or use --authfile`, { file });
  }
}

/** Reads, changes (when `edit` says so) and rewrites the file, under its lock. */
async function editFile<T>(
  target: LoginTarget,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
  create: boolean,
  edit: (d: Document) => Promise<{ changed: boolean; result: T }>,
): Promise<T> {
  const file = resolveTarget(target.file);
  if (create) ensureDirectory(file, env);
  else if (!fs.existsSync(path.dirname(file))) return (await edit({ doc: {}, config: emptyConfig(), auths: {} })).result;
  const release = await acquireLock(file, `${file}.lock`, signal);
  try {
    const current = readDocument(file);
    if (!current && !create) return (await edit({ doc: {}, config: emptyConfig(), auths: {} })).result;
    const d = current ?? { doc: {}, config: emptyConfig(), auths: {} };
    const { changed, result } = await edit(d);
    if (changed) {
      d.doc.auths = d.auths;
      writeAtomic(file, `${JSON.stringify(d.doc, null, '\t')}\n`);
      await fsyncDir(path.dirname(file)).catch(() => {});
    }
    return result;
  } finally {
    await release().catch(() => {});
  }
}

function emptyConfig(): AuthConfig {
  return { auths: new Map(), credsStore: undefined, credHelpers: new Map() };
}

export interface EditOptions {
  /** Environment the helpers run with. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  helperTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Where a login was written: the file, or the helper its `credHelpers` entry names. */
export interface StoredLogin {
  file: string;
  /** The key written in `auths` (not set when a helper keeps the credential). */
  key?: string;
  helper?: string;
}

/**
 * Records `username`/`password` for `key` in the target file (created if missing, other entries kept), or in the
 * credential helper its `credHelpers` names for the host. Entries under another spelling of the same key
 * (`https://quay.io`, `quay.io/v1/`) are replaced too: one entry per host and namespace is left.
 */
export async function storeLogin(target: LoginTarget, key: LoginKey, username: string, password: string, options: EditOptions = {}): Promise<StoredLogin> {
  const env = options.env ?? process.env;
  const written = loginKeyString(key, target.dockerCompat);
  return editFile<StoredLogin>(target, env, options.signal, true, async ({ config, auths }) => {
    const helper = config.credHelpers.get(key.host);
    if (helper) {
      if (key.namespace !== undefined) {
        throw new InvalidArgumentError(`${written}: ${helperProgram(helper)} (credHelpers in ${target.file}) keeps credentials per registry, not per namespace`);
      }
      const origin = { file: target.file, key: `credHelpers[${JSON.stringify(key.host)}]` };
      await credentialHelperStore(helper, helperServerURLs(key.host)[0]!, username, password, { env, timeoutMs: options.helperTimeoutMs, origin });
      return { changed: false, result: { file: target.file, helper: helperProgram(helper) } };
    }
    for (const k of Object.keys(auths)) if (sameKey(k, key)) delete auths[k];
    auths[written] = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
    return { changed: true, result: { file: target.file, key: written } };
  });
}

/** What a logout removed. */
export interface RemovedLogin {
  file: string;
  /** `auths` keys removed. */
  keys: string[];
  /** The helper a credential was erased from. */
  helper?: string;
}

/**
 * Removes the login for `key` from the target file (every spelling of the key), and erases it from the helper its
 * `credHelpers` names for the host. `keys` empty and no `helper`: there was nothing to remove.
 */
export async function removeLogin(target: LoginTarget, key: LoginKey, options: EditOptions = {}): Promise<RemovedLogin> {
  const env = options.env ?? process.env;
  return editFile<RemovedLogin>(target, env, options.signal, false, async ({ config, auths }) => {
    const out: RemovedLogin = { file: target.file, keys: [] };
    const helper = config.credHelpers.get(key.host);
    if (helper && key.namespace === undefined) {
      const origin = { file: target.file, key: `credHelpers[${JSON.stringify(key.host)}]` };
      let erased = false;
      for (const url of helperServerURLs(key.host)) {
        if (await credentialHelperErase(helper, url, { env, timeoutMs: options.helperTimeoutMs, origin })) erased = true;
      }
      if (erased) out.helper = helperProgram(helper);
    }
    for (const k of Object.keys(auths)) {
      if (!sameKey(k, key)) continue;
      delete auths[k];
      out.keys.push(k);
    }
    return { changed: out.keys.length > 0, result: out };
  });
}

/**
 * Removes every login of the target file: all `auths` entries, and every credential its `credHelpers` entries'
 * helpers hold for their hosts (the `credHelpers` mapping itself is configuration, and stays).
 */
export async function removeAllLogins(target: LoginTarget, options: EditOptions = {}): Promise<RemovedLogin & { helpers: string[] }> {
  const env = options.env ?? process.env;
  return editFile(target, env, options.signal, false, async ({ config, auths }) => {
    const helpers = new Set<string>();
    for (const [host, helper] of config.credHelpers) {
      if (!helper) continue;
      const origin = { file: target.file, key: `credHelpers[${JSON.stringify(host)}]` };
      for (const url of helperServerURLs(host)) {
        if (await credentialHelperErase(helper, url, { env, timeoutMs: options.helperTimeoutMs, origin })) helpers.add(helperProgram(helper));
      }
    }
    const keys = Object.keys(auths);
    for (const k of keys) delete auths[k];
    return { changed: keys.length > 0, result: { file: target.file, keys, helpers: [...helpers] } };
  });
}
