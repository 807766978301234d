import path from 'node:path';
import { FileMoteCache, NilCache, type FileMoteCacheOptions } from '../src/index.js';
import { moteCacheConformance, type Harness } from './conformance.js';
import { CountingCache } from './helpers/counting-cache.js';

type FallbackMode = 'none' | 'fallback' | 'populate';

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
      const c = new FileMoteCache(root, {
        ...options,
        ...(counting ? { fallback: counting, populateFromFallback: fallbackMode === 'populate' } : {}),
      });
      opened.push(c);
      return c;
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
        kind: 'store',
        populatesFromFallback: fallback === 'populate',
      });
    }
  }
}

moteCacheConformance('FileMoteCache verifyOnRead=always', fileHarness({ verifyOnRead: 'always', durable: false }, 'populate'), {
  kind: 'store',
  populatesFromFallback: true,
});

moteCacheConformance(
  'NilCache',
  async () => ({ cache: new NilCache(), cleanup: async () => {} }),
  { kind: 'nil' },
);
