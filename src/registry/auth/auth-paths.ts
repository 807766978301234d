/**
 * Where auth files are: the files credentials are looked up in, in order, and the file `login` writes, as
 * containers/image (podman, skopeo, buildah) and Docker place them. See containers-auth.json(5) and
 * containers/image `pkg/docker/config`.
 */
import os from 'node:os';
import path from 'node:path';

export interface AuthFileLookup {
  /** An explicit file: used alone, and an error if it does not exist (`''` included: it names no file). */
  authFile?: string | undefined;
  /**
   * Environment to read `REGISTRY_AUTH_FILE`, `XDG_RUNTIME_DIR`, `XDG_CONFIG_HOME`, `DOCKER_CONFIG` from, and to run
   * credential helpers with (their PATH finds them). Default `process.env`.
   */
  env?: NodeJS.ProcessEnv;
  /** Home directory for `~/.docker/config.json`, `~/.config`, `~/.dockercfg`. Default `os.homedir()`. */
  homedir?: string;
  /** Whether `credsStore` / `credHelpers` programs are run. Default true; `false`: they are ignored. */
  credentialHelpers?: boolean;
  /** A credential helper's run may take this long (default 30 s, `CREDENTIAL_HELPER_TIMEOUT_MS`). */
  helperTimeoutMs?: number;
}

/**
 * The primary (read/write) containers auth file, where `podman login` and `skopeo login` write by default:
 * `$XDG_RUNTIME_DIR/containers/auth.json`, else `/run/containers/<uid>/auth.json` on Linux;
 * `~/.config/containers/auth.json` on other systems.
 */
export function primaryAuthFile(lookup: AuthFileLookup = {}): string {
  const env = lookup.env ?? process.env;
  const home = lookup.homedir ?? os.homedir();
  if (process.platform !== 'linux') return path.join(home, '.config', 'containers', 'auth.json');
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  return path.join('/run', 'containers', String(process.getuid?.() ?? 0), 'auth.json');
}

/**
 * The auth files credentials are looked for in, in order. With `authFile`: that file alone. Otherwise:
 *
 * 1. `$REGISTRY_AUTH_FILE`, when set
 * 2. the primary containers file ({@link primaryAuthFile}: `$XDG_RUNTIME_DIR/containers/auth.json`)
 * 3. `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config/containers/auth.json`)
 * 4. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`
 * 5. `~/.dockercfg` (Docker's legacy file: the bare map)
 *
 * Each may be missing. A registry's credential is taken from the first file that has one for it.
 */
export function authFileCandidates(lookup: AuthFileLookup = {}): string[] {
  if (lookup.authFile !== undefined) return [lookup.authFile];
  const env = lookup.env ?? process.env;
  const home = lookup.homedir ?? os.homedir();
  const list: string[] = [];
  if (env.REGISTRY_AUTH_FILE) list.push(env.REGISTRY_AUTH_FILE);
  list.push(primaryAuthFile(lookup));
  list.push(path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), 'containers', 'auth.json'));
  list.push(env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, 'config.json') : path.join(home, '.docker', 'config.json'));
  list.push(path.join(home, '.dockercfg'));
  return [...new Set(list)];
}

/** The file `login` and `logout` change, and in which format. */
export interface LoginTarget {
  file: string;
  /**
   * `true` for a Docker `config.json` (`$DOCKER_CONFIG`): Docker Hub's key is `https://index.docker.io/v1/` there and
   * keys with a repository path are refused, as Docker reads neither otherwise.
   */
  dockerCompat: boolean;
  /** Whether the user chose it (`--authfile`, `$REGISTRY_AUTH_FILE`), rather than the default. */
  explicit: boolean;
}

/**
 * Where `login` writes and `logout` removes, as `skopeo login` decides: `authFile` (`--authfile`), else
 * `$REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json` (in Docker's format) when `DOCKER_CONFIG` is set, else the
 * primary containers file ({@link primaryAuthFile}).
 */
export function loginTarget(lookup: AuthFileLookup = {}): LoginTarget {
  const env = lookup.env ?? process.env;
  if (lookup.authFile !== undefined) return { file: lookup.authFile, dockerCompat: false, explicit: true };
  if (env.REGISTRY_AUTH_FILE) return { file: env.REGISTRY_AUTH_FILE, dockerCompat: false, explicit: true };
  if (env.DOCKER_CONFIG) return { file: path.join(env.DOCKER_CONFIG, 'config.json'), dockerCompat: true, explicit: false };
  return { file: primaryAuthFile(lookup), dockerCompat: false, explicit: false };
}
