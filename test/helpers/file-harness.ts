/**
 * A FileMoteCache for the conformance suites (test/conformance/mote-cache.ts), alone or with a fallback store:
 * 'fallback' and 'populate' are FileMoteCache's `fallback` / `populateFromFallback` shorthand, 'decorator' the same
 * contract spelled out as a PullThroughCache over it. The fallback is a FileMoteCache wrapped in a CountingCache,
 * so a suite can seed it and count its reads.
 */
import path from 'node:path';
import { FileMoteCache, PullThroughCache, type FileMoteCacheOptions } from '../../src/index.js';
import type { Harness } from '../conformance/mote-cache.js';
import { CountingCache } from './counting-cache.js';

export type FallbackMode = 'none' | 'fallback' | 'populate' | 'decorator';

export function fileHarness(options: FileMoteCacheOptions, fallbackMode: FallbackMode) {
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
