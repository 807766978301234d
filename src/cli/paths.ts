import path from 'node:path';
import { defaultCacheDir, type CacheDirEnv } from '../store/index.js';

export { defaultCacheDir, type CacheDirEnv };

/** The cache directory for a `--cache` value (resolved against `cwd`), else the store's default directory. */
export function resolveCacheDir(flag: string | undefined, env: CacheDirEnv = process.env, cwd = process.cwd()): string {
  return flag ? path.resolve(cwd, flag) : defaultCacheDir(env, { cwd });
}
