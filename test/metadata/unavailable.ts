import { expect } from 'vitest';
import { CacheUnavailableError } from '../../src/errors.js';
import type { KeyValueStore } from '../../src/metadata/index.js';

/** Every call of `store` rejects with CacheUnavailableError, each within `withinMs`. */
export async function expectUnavailableFast(store: KeyValueStore, withinMs = 2000): Promise<void> {
  const v = Buffer.from('v');
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['get', () => store.get('k')],
    ['getMany', () => store.getMany(['k', 'l'])],
    ['set', () => store.set('k', v)],
    ['add', () => store.add('k', v, { ttlMs: 1000 })],
    ['deleteIf', () => store.deleteIf('k', v)],
    ['delete', () => store.delete('k')],
  ];
  for (const [name, call] of calls) {
    const t0 = performance.now();
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    expect(err, name).toBeInstanceOf(CacheUnavailableError);
    expect((err as CacheUnavailableError).code).toBe('ERR_CACHE_UNAVAILABLE');
    expect(ms, name).toBeLessThan(withinMs);
  }
}
