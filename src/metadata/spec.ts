/**
 * Opens a metadata store from what a user writes (`--store`): `sqlite:PATH`, `redis://…` / `rediss://…`,
 * `memcached://HOST:PORT[,HOST:PORT…]`, or nothing: SQLite under the cache root (`<root>/.mote/metadata.db`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { isErrno } from '../internal/errno.js';
import type { KeyValueStore } from './types.js';
import { KvImageMetadataStore } from './store.js';
import { SqliteKeyValueStore, metadataDbPath } from './sqlite.js';

export async function openKeyValueStore(spec: string | undefined, cacheRoot: string): Promise<KeyValueStore> {
  if (spec === undefined) {
    checkCacheRoot(cacheRoot);
    return new SqliteKeyValueStore(metadataDbPath(cacheRoot));
  }
  if (typeof spec !== 'string' || spec === '') throw new InvalidArgumentError('--store: empty; give sqlite:PATH, redis://HOST:PORT or memcached://HOST:PORT');
  if (spec.startsWith('sqlite:')) {
    const file = spec.slice('sqlite:'.length);
    if (file === '') throw new InvalidArgumentError('--store sqlite: needs a path (sqlite:/var/cache/mote/metadata.db)');
    return new SqliteKeyValueStore(path.resolve(file));
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    const { RedisKeyValueStore } = await import('./redis.js');
    return new RedisKeyValueStore(spec);
  }
  if (spec.startsWith('memcached://')) {
    const servers = spec.slice('memcached://'.length).replace(/\/$/, '');
    const { MemcachedKeyValueStore } = await import('./memcached.js');
    return new MemcachedKeyValueStore(servers);
  }
  throw new InvalidArgumentError(`--store ${JSON.stringify(spec.slice(0, 100))}: give sqlite:PATH, redis://HOST:PORT or memcached://HOST:PORT`);
}

/**
 * The cache root can hold the default store: a file in the way (`--cache` naming a file) is the caller's mistake,
 * refused as the mote store refuses it (`InvalidArgumentError`, exit 2), not reported as a store that is down.
 */
function checkCacheRoot(cacheRoot: string): void {
  try {
    fs.mkdirSync(path.dirname(metadataDbPath(cacheRoot)), { recursive: true });
  } catch (err) {
    if (isErrno(err, 'ENOTDIR', 'EEXIST')) throw new InvalidArgumentError(`${cacheRoot} cannot hold a cache (${(err as Error).message})`);
    // Anything else (EACCES...) is the SQLite store's to report.
  }
}

/** The image metadata store on the backend `spec` names (see {@link openKeyValueStore}). */
export async function openImageMetadataStore(spec: string | undefined, cacheRoot: string): Promise<KvImageMetadataStore> {
  return new KvImageMetadataStore(await openKeyValueStore(spec, cacheRoot));
}
