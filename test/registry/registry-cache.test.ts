/**
 * RegistryMoteCache over a real registry (docker-registry 2.8.2), populated with the client's pushBlob: the
 * conformance suite's read cases, FileMoteCache read-through with populateFromFallback, refused writes, blob-info
 * records, and verification of what the registry serves (through the FaultInjectingProxy, a fake for lies only).
 */
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { FileMoteCache, MemoryBlobInfoCache, digestOf, locateLayerDigest } from '../../src/index.js';
import { RegistryClient, RegistryMoteCache, type TransferEvent } from '../../src/registry/index.js';
import { moteProviderConformance } from '../conformance/mote-provider.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { makeTempDir, randomData, readAll } from '../helpers/tmp.js';

const skip = registryUnavailableReason();

describe.skipIf(skip)('RegistryMoteCache', () => {
  let reg: RegistryHandle;
  let client: RegistryClient;
  beforeAll(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ credentials: false });
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  let n = 0;
  moteProviderConformance(
    'RegistryMoteCache (real registry)',
    async () => {
      const repo = `${reg.host}/conformance/r${n++}`;
      return {
        provider: new RegistryMoteCache(repo, client),
        seed: async (data: Buffer) => {
          const d = digestOf(data);
          await client.pushBlob(repo, d, data);
          return d;
        },
        cleanup: async () => {},
      };
    },
  );

  it('a FileMoteCache with it as fallback serves a verified local copy: one download for 8 concurrent readers', async () => {
    const scratch = makeTempDir();
    try {
      const repo = `${reg.host}/cache/fallback`;
      const data = randomData(3 << 20);
      const d = digestOf(data);
      await client.pushBlob(repo, d, data);
      const transfers: TransferEvent[] = [];
      const remote = new RegistryMoteCache(repo, client, { onTransfer: (e) => transfers.push(e) });
      const local = new FileMoteCache(path.join(scratch.dir, 'cache'), { fallback: remote, populateFromFallback: true, durable: false });
      const before = await reg.blobGets(d);
      const bodies = await Promise.all(Array.from({ length: 8 }, async () => readAll(await local.moteReader(d))));
      for (const b of bodies) expect(b.equals(data)).toBe(true);
      expect((await reg.blobGets(d)) - before).toBe(1);
      expect(remote.bytesFetched).toBe(data.length);
      expect(transfers.reduce((s, e) => s + e.bytes, 0)).toBe(data.length);
      expect(transfers.every((e) => e.size === data.length && e.digest === d)).toBe(true);
      expect(transfers.at(-1)!.offset + transfers.at(-1)!.bytes).toBe(data.length);
      // It is now local: verified, published, read without the registry.
      expect((await local.get(d)).equals(data)).toBe(true);
      expect((await reg.blobGets(d)) - before).toBe(1);
      await local.close();
    } finally {
      scratch.cleanup();
    }
  });

  it('a throwing onTransfer listener neither fails the read nor crashes the process; byte counts stay right', async () => {
    const repo = `${reg.host}/cache/listener`;
    const data = randomData(300_000);
    const d = digestOf(data);
    await client.pushBlob(repo, d, data);
    let calls = 0;
    const remote = new RegistryMoteCache(repo, client, {
      onTransfer: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    expect((await readAll(await remote.moteReader(d))).equals(data)).toBe(true);
    expect(calls).toBeGreaterThan(0);
    expect(remote.bytesFetched).toBe(data.length);
  });

  it('records each blob it starts serving in the blob-info cache', async () => {
    const repo = `${reg.host}/cache/info`;
    const data = randomData(1000);
    const d = digestOf(data);
    await client.pushBlob(repo, d, data);
    const bic = new MemoryBlobInfoCache();
    const remote = new RegistryMoteCache(repo, client, { blobInfo: bic });
    await readAll(await remote.moteReader(d));
    const refs = await locateLayerDigest(bic, d, `${reg.host}/elsewhere/x:latest`, true);
    expect(refs.map(String)).toEqual([`${reg.host}/cache/info@${d}`]);
  });

  it('has the read role only; a missing blob is MoteNotFoundError; moteRef is the blob URL', async () => {
    const remote = new RegistryMoteCache(`${reg.host}/cache/ro`, client);
    const d = digestOf('nope');
    // A registry is written with RegistryClient.pushBlob, never through a cache: no write or manage methods at all.
    for (const method of ['createMote', 'moteWriter', 'commitMote', 'removeMote', 'prune']) expect(method in remote, method).toBe(false);
    await expect(remote.moteReader(d)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    await expect(remote.moteReaderAt(d)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    expect(remote.moteRef(d)).toBe(`http://${reg.host}/v2/cache/ro/blobs/${d}`);
    const data = randomData(100);
    await client.pushBlob(`${reg.host}/cache/ro`, digestOf(data), data);
    await expect(remote.moteReaderFrom(digestOf(data), 101)).rejects.toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
  });

  describe('a registry that serves wrong bytes (FaultInjectingProxy)', () => {
    let proxy: FaultInjectingProxy;
    beforeAll(async () => {
      proxy = await FaultInjectingProxy.start(reg.host);
    });
    afterAll(async () => proxy?.stop());

    it('moteReader fails with DigestMismatchError at the end, and the FileMoteCache publishes nothing', async () => {
      const data = randomData(10_000);
      const d = digestOf(data);
      await client.pushBlob(`${reg.host}/cache/lies`, d, data);
      const wrong = Buffer.from(data);
      wrong[100] = wrong[100]! ^ 1;
      proxy.rule = (r) =>
        r.method === 'GET' && r.path.includes('/blobs/') ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: wrong } : 'pass';
      const remote = new RegistryMoteCache(`${proxy.host}/cache/lies`, client);
      await expect(readAll(await remote.moteReader(d))).rejects.toMatchObject({
        code: 'ERR_MOTE_DIGEST_MISMATCH',
        expected: d,
        source: `blob from ${proxy.host}/cache/lies`, // names the registry and the repository
      });
      const scratch = makeTempDir();
      try {
        const local = new FileMoteCache(path.join(scratch.dir, 'c'), { fallback: remote, populateFromFallback: true, durable: false });
        await expect(local.moteReader(d).then(readAll)).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
        expect(await local.list()[Symbol.asyncIterator]().next()).toMatchObject({ done: true });
        await local.close();
      } finally {
        scratch.cleanup();
        proxy.rule = () => 'pass';
      }
    });

    it('"offset past the end" is InvalidArgumentError also when the registry ignores Range (a whole 200)', async () => {
      const data = Buffer.from('0123456789'.repeat(10)); // ASCII: the proxy's string body carries it unchanged
      const d = digestOf(data);
      await client.pushBlob(`${reg.host}/cache/norange`, d, data);
      proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { status: 200, body: data.toString('latin1') } : 'pass');
      try {
        const remote = new RegistryMoteCache(`${proxy.host}/cache/norange`, client);
        await expect(remote.moteReaderFrom(d, data.length + 1)).rejects.toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
        expect((await readAll(await remote.moteReaderFrom(d, 90))).equals(data.subarray(90))).toBe(true);
      } finally {
        proxy.rule = () => 'pass';
      }
    });

    it('a body cut short fails the read', async () => {
      const data = randomData(200_000);
      const d = digestOf(data);
      await client.pushBlob(`${reg.host}/cache/short`, d, data);
      proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { dropAfterBytes: 5000 } : 'pass');
      const remote = new RegistryMoteCache(`${proxy.host}/cache/short`, client);
      await expect(readAll(await remote.moteReader(d))).rejects.toMatchObject({ code: 'ERR_REGISTRY_PROTOCOL' });
      proxy.rule = () => 'pass';
    });
  });
});
