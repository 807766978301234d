/**
 * The write lock of `records.ts` (writers of one record take turns at its head): a lock whose holder died is
 * outlived, one that stays held makes the writer give up without leaving chunks, and a holder whose lock lapsed
 * deletes its own chunks when its head was replaced meanwhile. The race itself runs on every backend in the
 * conformance suite (test/conformance/image-metadata-store.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CacheUnavailableError } from '../../src/errors.js';
import { MAX_VALUE_BYTES, MemoryKeyValueStore, type KeyValueStore } from '../../src/metadata/index.js';
import { readRecord, writeLockKey, writeRecord } from '../../src/metadata/records.js';

const KEY = 'motemeta1|repo|registry.example.com/team/app';
const big = (fill: number) => Buffer.alloc(3 * MAX_VALUE_BYTES + 10, fill); // 4 chunks
const small = Buffer.from('{"small":true}');
/** A record with `body` inline, in the format `records.ts` documents. */
const inline = (body: string) => {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(`${JSON.stringify({ v: 1, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') })}\n`), b]);
};

/** Generations of chunks written so far. */
function chunkGens(kv: RecordingKv): string[] {
  return [...new Set(kv.written.filter((k) => k.includes('|chunk|')).map((k) => k.split('|')[2]!))];
}

/** Generations written of which a chunk is still stored. */
async function liveGens(kv: RecordingKv): Promise<string[]> {
  const gens: string[] = [];
  for (const gen of chunkGens(kv)) {
    const keys = kv.written.filter((k) => k.startsWith(`motemeta1|chunk|${gen}|`));
    if ((await kv.inner.getMany(keys)).some((v) => v !== undefined)) gens.push(gen);
  }
  return gens;
}

/** Passes calls through to a memory store, noting the keys written; `afterSet` runs after each `set`. */
class RecordingKv implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly inner = new MemoryKeyValueStore();
  readonly written: string[] = [];
  afterSet: ((key: string) => Promise<void>) | undefined;
  get = (key: string) => this.inner.get(key);
  getMany = (keys: readonly string[]) => this.inner.getMany(keys);
  async set(key: string, value: Buffer, options?: { ttlMs?: number }) {
    this.written.push(key);
    await this.inner.set(key, value, options);
    await this.afterSet?.(key);
  }
  add = (key: string, value: Buffer, options: { ttlMs: number }) => this.inner.add(key, value, options);
  deleteIf = (key: string, expected: Buffer) => this.inner.deleteIf(key, expected);
  delete = (key: string) => this.inner.delete(key);
  close = () => this.inner.close();
}

describe('records: the write lock', () => {
  it('is released after each write; the replaced generation is deleted', async () => {
    const kv = new RecordingKv();
    await writeRecord(kv, KEY, big(1));
    await writeRecord(kv, KEY, big(2));
    expect(await kv.get(writeLockKey(KEY))).toBeUndefined();
    expect(await readRecord(kv, KEY)).toEqual(big(2));
    expect(chunkGens(kv)).toHaveLength(2);
    expect(await liveGens(kv)).toHaveLength(1);
  });

  it('a lock left by a writer that died is outlived: the write waits for it to expire, then lands', async () => {
    const kv = new RecordingKv();
    await writeRecord(kv, KEY, big(1));
    expect(await kv.add(writeLockKey(KEY), Buffer.from('dead writer'), { ttlMs: 300 })).toBe(true);
    const started = performance.now();
    await writeRecord(kv, KEY, big(2));
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(await readRecord(kv, KEY)).toEqual(big(2));
    expect(await liveGens(kv)).toHaveLength(1);
  });

  it('a lock held past the wait: CacheUnavailableError, none of the writer’s chunks left, the old value kept', async () => {
    const kv = new RecordingKv();
    await writeRecord(kv, KEY, big(1));
    const [kept] = await liveGens(kv);
    expect(await kv.add(writeLockKey(KEY), Buffer.from('busy writer'), { ttlMs: 60_000 })).toBe(true);
    const started = performance.now();
    await expect(writeRecord(kv, KEY, big(2), { lockWaitMs: 200 })).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await liveGens(kv)).toEqual([kept]);
    expect(await readRecord(kv, KEY)).toEqual(big(1));
  });

  it('a holder whose lock lapsed and whose head was replaced meanwhile deletes its own chunks', async () => {
    const kv = new RecordingKv();
    await writeRecord(kv, KEY, small);
    kv.afterSet = async (key) => {
      if (key !== KEY) return;
      kv.afterSet = undefined;
      // The holder stalled past the lock's TTL; a writer that never saw its head put another one over it.
      await kv.inner.delete(writeLockKey(KEY));
      await kv.inner.set(KEY, inline('{}'));
    };
    await writeRecord(kv, KEY, big(3));
    expect(await readRecord(kv, KEY)).toEqual(Buffer.from('{}'));
    expect(chunkGens(kv)).toHaveLength(1);
    expect(await liveGens(kv)).toEqual([]);
  });

  it('a holder whose lock lapsed but whose head stayed keeps its chunks', async () => {
    const kv = new RecordingKv();
    kv.afterSet = async (key) => {
      if (key === KEY) await kv.inner.delete(writeLockKey(KEY));
    };
    await writeRecord(kv, KEY, big(4));
    expect(await readRecord(kv, KEY)).toEqual(big(4));
    expect(await liveGens(kv)).toHaveLength(1);
  });
});
