/**
 * `mote`'s configuration file: defaults a user sets once instead of on every command line. Where: `$MOTE_CONFIG`
 * (a file that must exist), else `$XDG_CONFIG_HOME/motecache/config.yaml` or `config.json` (`~/.config/…` when
 * the variable is unset or not absolute, as the XDG spec says); both at once is ambiguous, an error. Precedence,
 * for each setting: a flag, then an environment variable (`MOTE_CACHE_DIR`), then this file, then the built-in
 * default. Read strictly: an unknown key or a wrong value is a usage error (exit 2) naming the file and the key,
 * not a silently ignored setting.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import path from 'node:path';
import { InvalidPlatformError } from '../oci/errors.js';
import { parsePlatform } from '../oci/platform.js';
import { registryHostProblem } from '../oci/names.js';
import { MirrorTable } from '../registry/mirrors.js';
import type { MirrorsOption } from '../registry/types.js';
import { CliError, USAGE_ERROR_CODE } from './output.js';
import { parseSize } from './size.js';
import { readSmallFile } from '../internal/fs.js';

/** A configuration file is a few lines; past this it is not one. */
const MAX_CONFIG_BYTES = 256 * 1024;
const KEYS = new Set(['cache', 'maxSize', 'insecure', 'platform', 'registries']);

export interface MoteConfig {
  /** The file these settings came from (none: no file). */
  file?: string;
  /** Default cache directory (absolute; a relative one in the file is relative to the file's directory). */
  cache?: string;
  /** When set, `mote pull` prunes the cache to this many bytes after each successful pull. */
  maxSize?: number;
  /** Registry hosts allowed plain HTTP or unverified TLS, added to `--insecure`. */
  insecure?: string[];
  /** Default platform (`os/arch[/variant]`) where a command picks one from an index. */
  platform?: string;
  /** Mirrors per registry host (`RegistryClientOptions.mirrors`). */
  registries?: MirrorsOption;
}

export interface ConfigEnv {
  MOTE_CONFIG?: string | undefined;
  XDG_CONFIG_HOME?: string | undefined;
  HOME?: string | undefined;
}

/** The file to read, or none. */
export function configFilePath(env: ConfigEnv = process.env): string | undefined {
  if (env.MOTE_CONFIG) {
    const file = path.resolve(env.MOTE_CONFIG);
    if (!fs.existsSync(file)) throw new CliError(USAGE_ERROR_CODE, `MOTE_CONFIG names ${file}, which does not exist`);
    return file;
  }
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || homedir(), '.config');
  const found = ['config.yaml', 'config.json'].map((n) => path.join(base, 'motecache', n)).filter((f) => fs.existsSync(f));
  if (found.length > 1) throw new CliError(USAGE_ERROR_CODE, `two configuration files, ${found.join(' and ')}: keep one`);
  return found[0];
}

const problem = (file: string, key: string, what: string): CliError => new CliError(USAGE_ERROR_CODE, `configuration ${file}: ${key}: ${what}`);

function text(file: string): string {
  // The user's own file, through a link if it is one; a FIFO or a device is refused, not waited on.
  const body = readSmallFile(file, MAX_CONFIG_BYTES, true);
  if (typeof body === 'string') return body;
  const why = body.refused === 'too-large' ? `larger than ${MAX_CONFIG_BYTES} bytes` : body.refused === 'not-a-file' ? 'not a file' : `cannot be read (${body.code})`;
  throw new CliError(USAGE_ERROR_CODE, `configuration ${file}: ${why}`);
}

function parseDocument(file: string): unknown {
  const body = text(file);
  try {
    if (file.endsWith('.json')) return JSON.parse(body);
    // Loaded only when a YAML file is there: most runs read no configuration at all.
    const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    return yaml.parse(body, { uniqueKeys: true, maxAliasCount: 0 }) ?? {};
  } catch (err) {
    throw new CliError(USAGE_ERROR_CODE, `configuration ${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Reads and checks the file; every key is optional. */
export function readConfig(file: string): MoteConfig {
  const doc = parseDocument(file);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw problem(file, '(top)', 'a mapping of settings');
  const o = doc as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.has(key)) throw problem(file, key, `unknown setting (known: ${[...KEYS].join(', ')})`);
  const config: MoteConfig = { file };
  if (o.cache !== undefined) {
    if (typeof o.cache !== 'string' || o.cache === '') throw problem(file, 'cache', 'a directory name');
    config.cache = path.resolve(path.dirname(file), o.cache.replace(/^~(?=$|\/)/, () => process.env.HOME || homedir()));
  }
  if (o.maxSize !== undefined) {
    try {
      config.maxSize = parseSize(typeof o.maxSize === 'number' ? String(o.maxSize) : (o.maxSize as string));
    } catch (err) {
      throw problem(file, 'maxSize', (err as Error).message);
    }
  }
  if (o.insecure !== undefined) {
    if (!Array.isArray(o.insecure)) throw problem(file, 'insecure', 'a list of registry hosts');
    for (const [i, h] of o.insecure.entries()) {
      const why = registryHostProblem(h);
      if (why) throw problem(file, `insecure[${i}]`, why);
    }
    config.insecure = o.insecure as string[];
  }
  if (o.platform !== undefined) {
    try {
      if (typeof o.platform !== 'string') throw new InvalidPlatformError(String(o.platform), 'not a string');
      parsePlatform(o.platform);
    } catch (err) {
      throw problem(file, 'platform', (err as Error).message);
    }
    config.platform = o.platform;
  }
  if (o.registries !== undefined) {
    try {
      new MirrorTable(o.registries as MirrorsOption); // checks every entry
    } catch (err) {
      throw problem(file, 'registries', (err as Error).message);
    }
    config.registries = o.registries as MirrorsOption;
  }
  return config;
}

let loaded: { key: string; config: MoteConfig } | undefined;

/** The configuration in effect (read once per process and environment). */
export function loadConfig(env: ConfigEnv = process.env): MoteConfig {
  const key = `${env.MOTE_CONFIG ?? ''}\n${env.XDG_CONFIG_HOME ?? ''}\n${env.HOME ?? ''}`;
  if (loaded?.key === key) return loaded.config;
  const file = configFilePath(env);
  const config = file === undefined ? {} : readConfig(file);
  loaded = { key, config };
  return config;
}
