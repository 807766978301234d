import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { CacheUnavailableError, InvalidArgumentError } from '../../src/errors.js';
import { openSqlite } from '../../src/internal/sqlite.js';
import { KvImageMetadataStore, METADATA_APPLICATION_ID, SqliteKeyValueStore, metadataDbPath } from '../../src/metadata/index.js';
import { keyValueStoreConformance } from '../conformance/key-value-store.js';
import { imageMetadataStoreConformance, stateWith } from '../conformance/image-metadata-store.js';
import { makeTempDir } from '../helpers/tmp.js';
import { digestOf } from '../../src/digest/index.js';

const harness = async () => {
  const tmp = makeTempDir('motecache-metadata-');
  const file = metadataDbPath(tmp.dir);
  const store = new SqliteKeyValueStore(file);
  const peers: SqliteKeyValueStore[] = [];
  return {
    store,
    // Another connection to the same file, as another process would have.
    peer: async () => {
      const p = new SqliteKeyValueStore(file);
      peers.push(p);
      return p;
    },
    cleanup: async () => {
      for (const p of peers) await p.close();
      await store.close();
      tmp.cleanup();
    },
  };
};

keyValueStoreConformance('SqliteKeyValueStore', harness);
imageMetadataStoreConformance('KvImageMetadataStore on SqliteKeyValueStore', harness);

describe('SqliteKeyValueStore: the file', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  const tmpDir = () => {
    const t = makeTempDir('motecache-metadata-');
    cleanups.push(t.cleanup);
    return t.dir;
  };

  it('lives at <root>/.mote/metadata.db (created with its folder) and keeps values across reopening', async () => {
    const root = tmpDir();
    expect(metadataDbPath(root)).toBe(path.join(root, '.mote', 'metadata.db'));
    const a = new SqliteKeyValueStore(metadataDbPath(root));
    await a.set('k', Buffer.from('v'));
    await a.set('gone', Buffer.from('v'), { ttlMs: 1 });
    const meta = new KvImageMetadataStore(a);
    await meta.putRepository(stateWith('ghcr.io/team/app', 5000, () => digestOf('x')));
    await meta.close();
    const b = new SqliteKeyValueStore(metadataDbPath(root));
    expect(await b.get('k')).toEqual(Buffer.from('v'));
    expect(await b.get('gone')).toBeUndefined();
    expect(Object.keys((await new KvImageMetadataStore(b).getRepository('ghcr.io/team/app'))!.tags)).toHaveLength(5000);
    // Tagged as ours, in WAL mode.
    const db = openSqlite(metadataDbPath(root));
    expect(db.pragma('application_id', { simple: true })).toBe(METADATA_APPLICATION_ID);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    // Expired rows are purged when a store opens.
    expect(db.prepare("SELECT count(*) FROM kv WHERE key = 'gone'").pluck().get()).toBe(0);
    db.close();
    await b.close();
  });

  it('a damaged file is moved aside with a warning and rebuilt empty', async () => {
    const file = path.join(tmpDir(), 'metadata.db');
    fs.writeFileSync(file, Buffer.alloc(8192, 'garbage!'));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const s = new SqliteKeyValueStore(file);
      await s.set('k', Buffer.from('v'));
      expect(await s.get('k')).toEqual(Buffer.from('v'));
      await s.close();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.some((w) => (w as { code?: string }).code === 'MOTECACHE_METADATA_REBUILT')).toBe(true);
    expect(fs.readdirSync(path.dirname(file)).some((f) => f.startsWith('metadata.db.corrupt-'))).toBe(true);
  });

  it("another application's database is left untouched: CacheUnavailableError", () => {
    const file = path.join(tmpDir(), 'other.db');
    const db = openSqlite(file);
    db.exec('CREATE TABLE theirs (x)');
    db.close();
    const before = fs.readFileSync(file);
    expect(() => new SqliteKeyValueStore(file)).toThrow(CacheUnavailableError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('a newer schema is refused; a path that cannot be a file is CacheUnavailableError; bad arguments are InvalidArgumentError', () => {
    const file = path.join(tmpDir(), 'newer.db');
    new SqliteKeyValueStore(file).close();
    const db = openSqlite(file);
    db.pragma('user_version = 99');
    db.close();
    expect(() => new SqliteKeyValueStore(file)).toThrow(/newer/);
    const dir = tmpDir();
    expect(() => new SqliteKeyValueStore(dir)).toThrow(CacheUnavailableError); // a directory
    expect(() => new SqliteKeyValueStore('')).toThrow(InvalidArgumentError);
    expect(() => new SqliteKeyValueStore(path.join(dir, 'x.db'), { busyTimeoutMs: 0 })).toThrow(InvalidArgumentError);
  });
});
