import { homedir } from 'node:os';
import path from 'node:path';

/** The environment variables {@link defaultCacheDir} reads. */
export interface CacheDirEnv {
  MOTE_CACHE_DIR?: string | undefined;
  XDG_CACHE_HOME?: string | undefined;
  HOME?: string | undefined;
}

/**
 * The store's directory when none is given (the CLI's `--cache`, `pull`'s `cache`), in order of preference:
 * 1. `$MOTE_CACHE_DIR` (relative values are resolved against `cwd`);
 * 2. `$XDG_CACHE_HOME/motecache` (ignored unless absolute, as the XDG Base Directory spec requires);
 * 3. `$HOME/.cache/motecache`, falling back to the OS's idea of the home directory when `$HOME` is unset.
 * Empty variables count as unset.
 */
export function defaultCacheDir(env: CacheDirEnv = process.env, options: { cwd?: string; homedir?: () => string } = {}): string {
  const cwd = options.cwd ?? process.cwd();
  if (env.MOTE_CACHE_DIR) return path.resolve(cwd, env.MOTE_CACHE_DIR);
  if (env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME)) return path.join(env.XDG_CACHE_HOME, 'motecache');
  const home = env.HOME || (options.homedir ?? homedir)();
  return path.join(home, '.cache', 'motecache');
}
