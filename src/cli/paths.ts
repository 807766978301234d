import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { defaultCacheDir, type CacheDirEnv } from '../store/default-dir.js';

export { defaultCacheDir, type CacheDirEnv };

/**
 * The cache directory for a `--cache` value (resolved against `cwd`), else the store's default directory. An
 * empty `--cache` is a usage error: it is what `--cache "$DIR"` gives when `$DIR` is unset, and quietly using the
 * default cache instead would put, prune or remove motes in a cache the user did not name. (An empty
 * `$MOTE_CACHE_DIR` still counts as unset, as the XDG variables do.)
 */
export function resolveCacheDir(flag: string | undefined, env: CacheDirEnv = process.env, cwd = process.cwd(), configured?: string): string {
  if (flag === '') throw new InvalidArgumentError('--cache: the directory name is empty');
  if (flag !== undefined) return path.resolve(cwd, flag);
  // The configuration file's `cache` comes after the environment variable, before the XDG default.
  if (configured !== undefined && !env.MOTE_CACHE_DIR) return configured;
  return defaultCacheDir(env, { cwd });
}
