/**
 * Opens a metadata store from what a user writes (`--store`): `sqlite:PATH`, `redis://…` / `rediss://…`,
 * `memcached://HOST:PORT[,HOST:PORT…]`, or nothing: SQLite under the cache root (`<root>/.mote/metadata.db`).
 */
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import type { KeyValueStore } from './types.js';
import { KvImageMetadataStore } from './store.js';
import { SqliteKeyValueStore, metadataDbPath } from './sqlite.js';

export async function openKeyValueStore(spec: string | undefined, cacheRoot: string): Promise<KeyValueStore> {
  if (spec === undefined) return new SqliteKeyValueStore(metadataDbPath(cacheRoot));
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

/** The image metadata store on the backend `spec` names (see {@link openKeyValueStore}). */
export async function openImageMetadataStore(spec: string | undefined, cacheRoot: string): Promise<KvImageMetadataStore> {
  return new KvImageMetadataStore(await openKeyValueStore(spec, cacheRoot));
}
