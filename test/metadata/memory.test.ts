import { describe, it, expect } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { MemoryKeyValueStore } from '../../src/metadata/index.js';
import { keyValueStoreConformance } from '../conformance/key-value-store.js';
import { imageMetadataStoreConformance } from '../conformance/image-metadata-store.js';

const harness = async () => {
  const store = new MemoryKeyValueStore();
  return { store, cleanup: () => store.close() };
};

keyValueStoreConformance('MemoryKeyValueStore', harness);
imageMetadataStoreConformance('KvImageMetadataStore on MemoryKeyValueStore', harness);

describe('MemoryKeyValueStore: the size bound', () => {
  const v = (n: number) => Buffer.alloc(n, 1);

  it('evicts the least recently used first once past maxBytes; a read refreshes an entry', async () => {
    const s = new MemoryKeyValueStore({ maxBytes: 4 * 1100 });
    for (const k of ['a', 'b', 'c', 'd']) await s.set(k, v(1000));
    expect(await s.get('a')).toBeDefined(); // a is now the most recent; b the least
    await s.set('e', v(1000));
    expect(await s.get('b')).toBeUndefined();
    expect((await s.getMany(['a', 'c', 'd', 'e'])).every((x) => x?.length === 1000)).toBe(true);
    expect(s.bytes).toBeLessThanOrEqual(s.maxBytes);
    expect(s.size).toBe(4);
  });

  it('replacing and deleting keep the byte count right', async () => {
    const s = new MemoryKeyValueStore({ maxBytes: 10_000 });
    await s.set('k', v(5000));
    await s.set('k', v(10));
    await s.delete('k');
    expect(s.bytes).toBe(0);
    await s.add('k', v(10), { ttlMs: 60_000 });
    expect(await s.deleteIf('k', v(10))).toBe(true);
    expect(s.bytes).toBe(0);
  });

  it('a value larger than the whole bound is still kept (alone)', async () => {
    const s = new MemoryKeyValueStore({ maxBytes: 100 });
    await s.set('a', v(10));
    await s.set('big', v(1000));
    expect(await s.get('a')).toBeUndefined();
    expect((await s.get('big'))?.length).toBe(1000);
  });

  it('default bound 256 MiB; a bad bound is InvalidArgumentError', () => {
    expect(new MemoryKeyValueStore().maxBytes).toBe(256 * 2 ** 20);
    for (const maxBytes of [0, -1, 1.5, Number.NaN]) expect(() => new MemoryKeyValueStore({ maxBytes })).toThrow(InvalidArgumentError);
  });
});
