import path from 'node:path';
import { FileMoteCache, NilCache, PullThroughCache, type FileMoteCacheOptions } from '../src/index.js';
import { moteCacheConformance, type Harness } from './conformance/mote-cache.js';
import { moteProviderConformance } from './conformance/mote-provider.js';
import { CountingCache } from './helpers/counting-cache.js';

type FallbackMode = 'none' | 'fallback' | 'populate' | 'decorator';

function fileHarness(options: FileMoteCacheOptions, fallbackMode: FallbackMode) {
  return async (scratch: string): Promise<Harness> => {
    const root = path.join(scratch, 'cache');
    const opened: FileMoteCache[] = [];
    let counting: CountingCache | undefined;
    let fallbackStore: FileMoteCache | undefined;
    if (fallbackMode !== 'none') {
      fallbackStore = new FileMoteCache(path.join(scratch, 'fallback'), { durable: false });
      counting = new CountingCache(fallbackStore);
      opened.push(fallbackStore);
    }
    const make = () => {
      const shorthand = counting && fallbackMode !== 'decorator';
      const c = new FileMoteCache(root, {
        ...options,
        ...(shorthand ? { fallback: counting, populateFromFallback: fallbackMode === 'populate' } : {}),
      });
      opened.push(c);
      // The decorator spelled out: the same contract as the `populateFromFallback` shorthand.
      return fallbackMode === 'decorator' ? new PullThroughCache(c, counting!) : c;
    };
    const cache = make();
    return {
      cache,
      root,
      ...(fallbackStore && {
        seedFallback: async (data: Buffer, mediaType: string) => (await fallbackStore.put(data, { mediaType })).digest,
        fallbackReads: () => counting!.calls.moteReader,
      }),
      reopen: async () => {
        const c = make();
        await c.initialize();
        return c;
      },
      cleanup: async () => {
        for (const c of opened) await c.close();
      },
    };
  };
}

for (const linkOnRead of [true, false]) {
  for (const durable of [true, false]) {
    for (const fallback of ['none', 'fallback', 'populate'] as const) {
      const name = `FileMoteCache linkOnRead=${linkOnRead} durable=${durable} fallback=${fallback}`;
      moteCacheConformance(name, fileHarness({ linkOnRead, durable }, fallback), {
        keepsContent: true,
        populatesFromFallback: fallback === 'populate',
      });
    }
  }
}

moteCacheConformance('FileMoteCache verifyOnRead=always', fileHarness({ verifyOnRead: 'always', durable: false }, 'populate'), {
  keepsContent: true,
  populatesFromFallback: true,
});

moteCacheConformance('PullThroughCache over a FileMoteCache', fileHarness({ durable: false }, 'decorator'), {
  keepsContent: true,
  populatesFromFallback: true,
});

moteCacheConformance('NilCache', async () => ({ cache: new NilCache(), cleanup: async () => {} }), { keepsContent: false });

moteProviderConformance('FileMoteCache', async (scratch) => {
  const cache = new FileMoteCache(path.join(scratch, 'cache'), { durable: false });
  return { provider: cache, seed: async (data) => (await cache.put(data)).digest, cleanup: () => cache.close() };
});

moteProviderConformance('PullThroughCache (motes seeded in its source)', async (scratch) => {
  const local = new FileMoteCache(path.join(scratch, 'cache'), { durable: false });
  const source = new FileMoteCache(path.join(scratch, 'source'), { durable: false });
  return {
    provider: new PullThroughCache(local, source),
    seed: async (data) => (await source.put(data)).digest,
    cleanup: async () => {
      await local.close();
      await source.close();
    },
  };
});
