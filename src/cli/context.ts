import type { Command } from 'commander';
import type { FileMoteCache, FileMoteCacheOptions } from '../store/index.js';
import { loadConfig, type MoteConfig } from './config-file.js';
import { debugLog, type DebugLog } from './debug.js';
import { Output } from './output.js';
import { resolveCacheDir } from './paths.js';
import { cacheAccessError } from './fs-errors.js';

/** Options every command accepts (declared on the program, usable before or after the command name). */
export interface GlobalOptions {
  cache?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

/** What the program hands every command besides its parsed arguments. */
export interface Shared {
  /** Aborted on the first SIGINT. */
  signal: AbortSignal;
}

/** Everything a command's action needs. */
export interface CommandContext {
  out: Output;
  cacheDir: string;
  signal: AbortSignal;
  json: boolean;
  quiet: boolean;
  /**
   * Whether progress bars can be drawn: stderr is a terminal, and `--debug` is off (its lines would tear the bars;
   * progress is then the plain lines a log gets).
   */
  stderrIsTTY: boolean;
  /** `--debug`'s log of registry events, when asked for: give it to every registry client as `onEvent`. */
  debug: DebugLog | undefined;
  /** The configuration file's settings (see config-file.ts): defaults below flags and environment variables. */
  config: MoteConfig;
}

export function commandContext(command: Command, shared: Shared): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const json = globals.json === true;
  const quiet = globals.quiet === true;
  const config = loadConfig();
  return {
    out: new Output(json, quiet),
    cacheDir: resolveCacheDir(globals.cache, process.env, process.cwd(), config.cache),
    config,
    signal: shared.signal,
    json,
    quiet,
    stderrIsTTY: process.stderr.isTTY === true && globals.debug !== true,
    debug: debugLog(globals.debug === true, json),
  };
}

/**
 * Opens the cache, runs `fn`, and always closes the cache (its SQLite index) afterwards. If `fn` failed, an error
 * from closing is dropped so that the original error is the one reported.
 */
export async function withCache<T>(
  ctx: CommandContext,
  options: FileMoteCacheOptions,
  fn: (cache: FileMoteCache) => Promise<T>,
): Promise<T> {
  // Loaded here, not at start-up: `mote --version`, `--help` and usage errors never touch the store.
  const { FileMoteCache } = await import('../store/index.js');
  const cache = new FileMoteCache(ctx.cacheDir, options);
  let result: T;
  try {
    await cache.initialize();
    result = await fn(cache);
  } catch (err) {
    await cache.close().catch(() => {});
    // A cache this user may only read: reads work (without read links), a write is refused in one line.
    throw cacheAccessError(err, ctx.cacheDir);
  }
  await cache.close();
  return result;
}
