/**
 * `mote login` and `mote logout`, with skopeo's flags: credentials are checked against the registry, then written to
 * the containers auth file (`--authfile`, else `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json` when set,
 * else `$XDG_RUNTIME_DIR/containers/auth.json`), or to the credential helper that file names for the registry.
 */
import type { Command } from 'commander';
import { CliError, USAGE_ERROR_CODE } from '../output.js';
import { commandContext, type Shared } from '../context.js';
import { ask, canPrompt } from '../prompt.js';
import { collectHosts, insecureHosts } from '../registry-options.js';

function isErrorCode(err: unknown, ...codes: string[]): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && codes.includes(code);
}

/** The registry argument: `docker://` (skopeo's transport prefix) is taken off. */
function registryArgument(arg: string): string {
  return arg.startsWith('docker://') ? arg.slice('docker://'.length) : arg;
}

/** A password on stdin is a line or two: more is not a password (and is not read into memory). */
const MAX_STDIN_PASSWORD_BYTES = 64 * 1024;

interface LoginCliOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  authfile?: string;
  insecure?: string[];
  getLogin?: boolean;
}

interface LogoutCliOptions {
  all?: boolean;
  authfile?: string;
}

/** The password piped in: every line joined, line ends removed (as skopeo reads `--password-stdin`). */
async function readStdinPassword(signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Ctrl-C while stdin gives nothing (a terminal, a pipe never closed) must end the wait at once, not at the next
  // chunk: the stream is destroyed, which ends the loop below.
  const onAbort = (): void => void process.stdin.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of process.stdin.iterator({ destroyOnReturn: true })) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_STDIN_PASSWORD_BYTES) throw new CliError(USAGE_ERROR_CODE, `--password-stdin: more than ${MAX_STDIN_PASSWORD_BYTES} bytes on stdin`);
      chunks.push(b);
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  signal.throwIfAborted();
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n/g, '');
}

export function registerLogin(program: Command, shared: Shared): void {
  program
    .command('login')
    .description('check credentials against a registry and store them in the containers auth file (as skopeo login)')
    .argument('<registry>', 'registry host[:port], or host/namespace[/repo] for credentials of that part only')
    .option('-u, --username <user>', 'username for the registry')
    .option('-p, --password <password>', 'password for the registry (visible to other users of this machine: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--authfile <file>', 'auth file to write (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)')
    .option('--insecure <host>', 'allow plain HTTP or unverified TLS for this registry host (repeatable)', collectHosts)
    .option('--get-login', 'print the username stored for the registry (exit 1 when there is none)')
    .action(async (registry: string, opts: LoginCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const target = registryArgument(registry);
      const { findLogin, login, NotLoggedInError } = await import('../../registry/auth/login.js');
      const { parseLoginKey } = await import('../../registry/auth/auth-file-edit.js');
      type LoginResult = Awaited<ReturnType<typeof login>>;
      if (opts.getLogin) {
        const found = await findLogin(target, { ...(opts.authfile !== undefined && { authFile: opts.authfile }) });
        if (!found || found.credential.identityToken) throw new NotLoggedInError(target, found ? ' with a username (an identity token is stored)' : '');
        const doc = { registry: target, username: found.credential.username, file: found.file, ...(found.helper && { helper: found.helper }) };
        ctx.out.result(doc, () => found.credential.username);
        return;
      }
      if (opts.password !== undefined && opts.passwordStdin) throw new CliError(USAGE_ERROR_CODE, 'give --password or --password-stdin, not both');
      if (opts.passwordStdin && opts.username === undefined) throw new CliError(USAGE_ERROR_CODE, '--password-stdin needs --username');
      let password = opts.passwordStdin ? await readStdinPassword(ctx.signal) : opts.password;
      if (opts.passwordStdin && password === '') throw new CliError(USAGE_ERROR_CODE, '--password-stdin: stdin held no password');
      let username = opts.username;
      const insecure = insecureHosts(opts, ctx.config); // --insecure and the configuration file's
      const common = {
        ...(opts.authfile !== undefined && { authFile: opts.authfile }),
        ...(insecure && { insecure }),
        ...(ctx.debug && { client: { onEvent: ctx.debug } }),
        signal: ctx.signal,
      };
      let result: LoginResult | undefined;
      // On a terminal, what the command line did not give is asked for, as skopeo and podman do: first whether
      // the stored credentials still work (then nothing is asked), else the username (the stored one offered)
      // and the password, without echo. Elsewhere (a script, CI) nothing is asked: missing is a usage error.
      // A registry argument that cannot be one is said before anything is asked.
      if (password === undefined && canPrompt() && parseLoginKey(target) !== undefined) {
        if (username === undefined) {
          result = await login(target, common).catch((err: unknown) => {
            if (isErrorCode(err, 'ERR_MOTE_INVALID_ARGUMENT', 'ERR_REGISTRY_AUTH')) return undefined;
            throw err;
          });
          if (!result) {
            const stored = (await findLogin(target, common).catch(() => undefined))?.credential.username;
            username = (await ask(`Username${stored ? ` (${stored})` : ''}: `, { signal: ctx.signal })) || stored;
          }
        }
        if (!result) password = await ask('Password: ', { secret: true, signal: ctx.signal });
      }
      result ??= await login(target, {
        ...(username !== undefined && { username }),
        ...(password !== undefined && { password }),
        ...common,
      });
      if (!result.alreadyLoggedIn) ctx.out.note(`credentials for ${result.registry} stored in ${result.helper ? `${result.helper} (named in ${result.file})` : result.file}`);
      ctx.out.result(result, () =>
        result.alreadyLoggedIn ? `Existing credentials are valid. Already logged in to ${result.registry}` : 'Login Succeeded!',
      );
    });
}

export function registerLogout(program: Command, shared: Shared): void {
  program
    .command('logout')
    .description('remove stored credentials for a registry from the containers auth file (as skopeo logout)')
    .argument('[registry]', 'registry host[:port], or host/namespace[/repo]')
    .option('-a, --all', 'remove the credentials of every registry in the auth file')
    .option('--authfile <file>', 'auth file to change (default: $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json)')
    .action(async (registry: string | undefined, opts: LogoutCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      if (opts.all && registry !== undefined) throw new CliError(USAGE_ERROR_CODE, '--all takes no registry');
      if (!opts.all && registry === undefined) throw new CliError(USAGE_ERROR_CODE, 'name a registry to log out from, or give --all');
      const { logout, logoutAll } = await import('../../registry/auth/login.js');
      const common = { ...(opts.authfile !== undefined && { authFile: opts.authfile }), signal: ctx.signal };
      if (opts.all) {
        const r = await logoutAll(common);
        ctx.out.result(r, () => 'Removed login credentials for all registries');
        return;
      }
      const r = await logout(registryArgument(registry!), common);
      ctx.out.result(r, () => `Removed login credentials for ${r.registry}`);
    });
}
