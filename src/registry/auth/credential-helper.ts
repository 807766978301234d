/**
 * Docker credential helpers (github.com/docker/docker-credential-helpers): programs named
 * `docker-credential-<name>` on PATH that keep registry credentials in a keychain, a password manager or a cloud
 * provider's login. An auth file names them (`credsStore`, `credHelpers`); this module runs them.
 *
 * The protocol, as the helpers' own client speaks it: `docker-credential-<name> get` with the server URL on stdin
 * answers `{"ServerURL","Username","Secret"}` on stdout, or fails (non-zero exit) with its error message on
 * stdout, `credentials not found in native keychain` when it holds nothing for that server. `store` takes that
 * JSON on stdin; `erase` takes the server URL. A `Username` of `<token>` means `Secret` is an identity token
 * (an OAuth2 refresh token), not a password.
 *
 * Every run is bounded (time, and bytes read from it), killed with its whole process group when it overruns, and
 * nothing it says that could hold a secret ever reaches an error message: an answer is quoted only when the run
 * failed and the answer does not look like a credential document.
 */
import { spawn } from 'node:child_process';
import { ErrorCategory, MoteError } from '../../errors.js';
import { RegistryCredential } from './auth-file.js';

/** A helper's run may take this long by default (a keychain unlock or a cloud login can take seconds). */
export const CREDENTIAL_HELPER_TIMEOUT_MS = 30_000;
/** What is read of a helper's stdout or stderr, at most: an answer is a few kilobytes (a cloud token). */
export const CREDENTIAL_HELPER_MAX_OUTPUT_BYTES = 256 * 1024;
/** The message a helper prints when it has no credential for the server (docker-credential-helpers' own). */
export const CREDENTIALS_NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
/** The `Username` that marks `Secret` as an identity token. */
export const IDENTITY_TOKEN_USERNAME = '<token>';
/** How much of a failed helper's message an error quotes. */
const MAX_MESSAGE_SHOWN = 200;

export type CredentialHelperAction = 'get' | 'store' | 'erase';

/** What went wrong with a helper run (`CredentialHelperError.reason`). */
export type CredentialHelperFailure = 'failed' | 'timeout' | 'output-too-large' | 'bad-answer';

/** Where a helper was named (for messages): the auth file and the key (`credsStore`, `credHelpers.gcr.io`). */
export interface HelperOrigin {
  file?: string | undefined;
  key?: string | undefined;
}

function where(origin: HelperOrigin | undefined): string {
  const parts = [origin?.key && `${origin.key}`, origin?.file && `in ${origin.file}`].filter(Boolean);
  return parts.length ? ` (${parts.join(' ')})` : '';
}

/**
 * A credential helper could not be run or did not answer usably: it failed (its own message is quoted when it
 * cannot hold a secret), timed out, said too much, or answered something that is not the protocol's JSON.
 * `ERR_CREDENTIAL_HELPER`. Never carries the secret it was given or answered.
 */
export class CredentialHelperError extends MoteError {
  /** The program: `docker-credential-<name>`. */
  readonly helper: string;
  readonly action: CredentialHelperAction;
  readonly reason: CredentialHelperFailure | 'not-found';
  /** The auth file that names the helper, if known. */
  readonly file: string | undefined;
  constructor(
    code: string,
    message: string,
    details: { helper: string; action: CredentialHelperAction; reason: CredentialHelperFailure | 'not-found'; origin?: HelperOrigin; category: ErrorCategory },
  ) {
    super(code, `${message}${where(details.origin)}`, { category: details.category });
    this.helper = details.helper;
    this.action = details.action;
    this.reason = details.reason;
    this.file = details.origin?.file;
  }
}

/** The helper program is not on PATH (or cannot be executed). `ERR_CREDENTIAL_HELPER_NOT_FOUND`, category `invalid`. */
export class CredentialHelperNotFoundError extends CredentialHelperError {
  constructor(helper: string, action: CredentialHelperAction, why: string, origin?: HelperOrigin) {
    super('ERR_CREDENTIAL_HELPER_NOT_FOUND', `credential helper ${helper} ${why}`, { helper, action, reason: 'not-found', origin, category: ErrorCategory.Invalid });
  }
}

export interface CredentialHelperOptions {
  /** Kill the helper after this long. Default {@link CREDENTIAL_HELPER_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Read at most this much of its stdout and of its stderr. Default {@link CREDENTIAL_HELPER_MAX_OUTPUT_BYTES}. */
  maxOutputBytes?: number;
  /** The helper's environment (PATH finds it). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Where the helper was named, for messages. */
  origin?: HelperOrigin;
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** The program run for a helper name: `docker-credential-<name>`. */
export function helperProgram(name: string): string {
  return `docker-credential-${name}`;
}

function failure(helper: string, action: CredentialHelperAction, reason: CredentialHelperFailure, message: string, origin?: HelperOrigin): CredentialHelperError {
  const category = reason === 'bad-answer' ? ErrorCategory.Protocol : ErrorCategory.Unavailable;
  return new CredentialHelperError('ERR_CREDENTIAL_HELPER', `credential helper ${helper} ${action}: ${message}`, { helper, action, reason, origin, category });
}

/** Kills the helper's whole process group (it runs in its own): a shell script's children go with it. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Runs `docker-credential-<name> <action>` with `input` on stdin, bounded in time and output. */
function runHelper(name: string, action: CredentialHelperAction, input: string, options: CredentialHelperOptions): Promise<RunResult> {
  const helper = helperProgram(name);
  const timeoutMs = options.timeoutMs ?? CREDENTIAL_HELPER_TIMEOUT_MS;
  const max = options.maxOutputBytes ?? CREDENTIAL_HELPER_MAX_OUTPUT_BYTES;
  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    const child = spawn(helper, [action], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group, so that a timeout kills what it started too (a shell script's `sleep`).
      detached: true,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    const finish = (error: Error | undefined, result?: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        killGroup(child.pid);
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.stdin?.destroy();
        reject(error);
      } else resolve(result!);
    };
    const timer = setTimeout(() => finish(failure(helper, action, 'timeout', `no answer within ${timeoutMs} ms`, options.origin)), timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish(new CredentialHelperNotFoundError(helper, action, 'is not installed (not found on PATH)', options.origin));
      else if (e.code === 'EACCES') finish(new CredentialHelperNotFoundError(helper, action, 'cannot be executed (EACCES)', options.origin));
      else finish(failure(helper, action, 'failed', `could not be run (${e.code ?? 'unknown error'})`, options.origin));
    });
    child.stdout!.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > max) finish(failure(helper, action, 'output-too-large', `answered more than ${max} bytes`, options.origin));
      else out.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      errBytes += d.length;
      if (errBytes <= max) err.push(d);
    });
    // A helper that exits without reading its input must not fail us with EPIPE.
    child.stdin!.on('error', () => {});
    child.stdin!.end(input);
    child.once('close', (code) => finish(undefined, { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
  });
}

/**
 * What a failed helper said, fit for an error message: its stdout (where the protocol puts errors), else its
 * stderr, on one line and cut short; nothing when it looks like a credential document (it could hold a secret).
 */
function shownMessage(r: RunResult): string {
  const text = (r.stdout.length ? r.stdout : r.stderr).toString('utf8').trim();
  if (text === '') return '';
  if (/^[{[]/.test(text) || /"(?:Secret|ServerURL|Username)"/i.test(text)) return ': (its output is not shown: it may hold a credential)';
  const line = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return `: ${JSON.stringify(line.length > MAX_MESSAGE_SHOWN ? `${line.slice(0, MAX_MESSAGE_SHOWN)}…` : line)}`;
}

function isNotFound(r: RunResult): boolean {
  return r.stdout.toString('utf8').trim() === CREDENTIALS_NOT_FOUND_MESSAGE;
}

function exitText(r: RunResult): string {
  return r.code === null ? 'was killed by a signal' : `exited with status ${r.code}`;
}

/**
 * `docker-credential-<name> get` for `serverURL`: its credential, or `undefined` when it has none for that server
 * (`credentials not found in native keychain`). A `<token>` username gives a credential whose identity token is the
 * secret. Throws `CredentialHelperNotFoundError` when the program is missing, `CredentialHelperError` when it fails,
 * times out, says too much or answers something unusable.
 */
export async function credentialHelperGet(name: string, serverURL: string, options: CredentialHelperOptions = {}): Promise<RegistryCredential | undefined> {
  const helper = helperProgram(name);
  const r = await runHelper(name, 'get', serverURL, options);
  if (r.code !== 0) {
    if (isNotFound(r)) return undefined;
    throw failure(helper, 'get', 'failed', `${exitText(r)}${shownMessage(r)}`, options.origin);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    // The parser's message may quote the answer, which may hold the secret: it is not passed on.
    throw failure(helper, 'get', 'bad-answer', 'answered something that is not JSON', options.origin);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw failure(helper, 'get', 'bad-answer', 'answered JSON that is not an object', options.origin);
  const { Username: username, Secret: secret } = doc as Record<string, unknown>;
  if (typeof username !== 'string' || typeof secret !== 'string') {
    throw failure(helper, 'get', 'bad-answer', 'answered without a string "Username" and "Secret"', options.origin);
  }
  if (secret === '') return undefined; // nothing to authenticate with: as if it held nothing
  if (username === IDENTITY_TOKEN_USERNAME) return new RegistryCredential(IDENTITY_TOKEN_USERNAME, '', secret);
  if (username === '') throw failure(helper, 'get', 'bad-answer', 'answered an empty "Username"', options.origin);
  return new RegistryCredential(username, secret);
}

/** `docker-credential-<name> store`: keeps `username`/`secret` for `serverURL`. Throws as {@link credentialHelperGet}. */
export async function credentialHelperStore(
  name: string,
  serverURL: string,
  username: string,
  secret: string,
  options: CredentialHelperOptions = {},
): Promise<void> {
  const r = await runHelper(name, 'store', JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret }), options);
  if (r.code !== 0) throw failure(helperProgram(name), 'store', 'failed', `${exitText(r)}${shownMessage(r)}`, options.origin);
}

/**
 * `docker-credential-<name> erase` for `serverURL`: `true` if it removed something, `false` if it held nothing
 * for that server. Throws as {@link credentialHelperGet}.
 */
export async function credentialHelperErase(name: string, serverURL: string, options: CredentialHelperOptions = {}): Promise<boolean> {
  const r = await runHelper(name, 'erase', serverURL, options);
  if (r.code === 0) return true;
  if (isNotFound(r)) return false;
  throw failure(helperProgram(name), 'erase', 'failed', `${exitText(r)}${shownMessage(r)}`, options.origin);
}

/**
 * The server URLs a registry host's credential is asked for, in order: Docker files Docker Hub's under
 * `https://index.docker.io/v1/` (what `docker login` stores), podman and skopeo under `docker.io`; every other
 * registry under its `host[:port]`.
 */
export function helperServerURLs(host: string): string[] {
  return host === 'docker.io' ? ['https://index.docker.io/v1/', 'docker.io'] : [host];
}
