/**
 * Conformance suite for `KeyValueStore`, run against every backend (memory, SQLite, Redis, memcached): round
 * trips, the key and value limits, TTLs, and the atomicity of `add` and `deleteIf` across concurrent callers on
 * several connections.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { CacheUnavailableError, InvalidArgumentError } from '../../src/errors.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, type KeyValueStore } from '../../src/metadata/index.js';

export interface KeyValueHarness {
  store: KeyValueStore;
  /** Another handle on the same data (another connection, another open of the file): races across clients. */
  peer?: () => Promise<KeyValueStore>;
  cleanup: () => Promise<void>;
}

export const BAD_KEYS: Array<[string, unknown]> = [
  ['empty', ''],
  ['space', 'a b'],
  ['tab', 'a\tb'],
  ['newline', 'a\n'],
  ['carriage return', 'a\rb'],
  ['NUL', 'a\0b'],
  ['DEL', 'a\x7f'],
  ['non-ASCII', 'café'],
  ['emoji', 'key🔑'],
  [`${MAX_KEY_BYTES + 1} bytes`, 'k'.repeat(MAX_KEY_BYTES + 1)],
  ['not a string', 42],
  ['undefined', undefined],
  ['null', null],
];

export async function rejectsWith(p: Promise<unknown> | (() => unknown), cls: new (...a: never[]) => Error): Promise<Error> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name}`).toBeInstanceOf(cls);
  return err as Error;
}

/** Polls `check` every 50 ms until it holds, failing past `withinMs` (no fixed sleeps: no timing flakes). */
export async function until(check: () => Promise<boolean>, withinMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const b = (s: string) => Buffer.from(s);
// memcached counts TTLs in whole seconds and rounds up (plus one): expiry is awaited up to this long.
const EXPIRY_WAIT_MS = 8000;

export function keyValueStoreConformance(name: string, make: () => Promise<KeyValueHarness>): void {
  describe(`KeyValueStore conformance: ${name}`, () => {
    let h: KeyValueHarness;
    let store: KeyValueStore;
    let peers: KeyValueStore[];
    // Each test's keys are its own, whatever the backend kept from earlier tests.
    let ns: string;
    const k = (s: string) => `${ns}:${s}`;

    beforeEach(async () => {
      h = await make();
      store = h.store;
      peers = [];
      ns = `t${randomBytes(4).toString('hex')}`;
    });
    afterEach(async () => {
      for (const p of peers) await p.close();
      await h.cleanup();
    });

    /** The store and up to three peers: callers on separate connections where the backend has them. */
    async function handles(): Promise<KeyValueStore[]> {
      if (h.peer) for (let i = 0; i < 3; i++) peers.push(await h.peer());
      return [store, ...peers];
    }

    it('get of a missing key is undefined; binary values round-trip (every byte, empty, exactly MAX_VALUE_BYTES)', async () => {
      expect(await store.get(k('missing'))).toBeUndefined();
      const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const full = randomBytes(MAX_VALUE_BYTES);
      await store.set(k('every'), every);
      await store.set(k('empty'), Buffer.alloc(0));
      await store.set(k('full'), full);
      expect(await store.get(k('every'))).toEqual(every);
      const empty = await store.get(k('empty'));
      expect(Buffer.isBuffer(empty) && empty.length === 0).toBe(true);
      expect((await store.get(k('full')))!.equals(full)).toBe(true);
    });

    it('set replaces; delete removes; deleting a missing key is fine', async () => {
      await store.set(k('a'), b('one'));
      await store.set(k('a'), b('two'));
      expect(await store.get(k('a'))).toEqual(b('two'));
      await store.delete(k('a'));
      expect(await store.get(k('a'))).toBeUndefined();
      await store.delete(k('a'));
      await store.delete(k('never'));
    });

    it('values are copies: writing into a buffer after set or after get changes nothing stored', async () => {
      const v = b('original');
      await store.set(k('c'), v);
      v[0] = 0x58;
      const got = (await store.get(k('c')))!;
      expect(got).toEqual(b('original'));
      got[0] = 0x59;
      expect(await store.get(k('c'))).toEqual(b('original'));
    });

    it('getMany: in order, with duplicates and misses; an empty list; 300 keys at once', async () => {
      await store.set(k('x'), b('X'));
      await store.set(k('y'), b('Y'));
      expect(await store.getMany([k('y'), k('nope'), k('x'), k('y')])).toEqual([b('Y'), undefined, b('X'), b('Y')]);
      expect(await store.getMany([])).toEqual([]);
      const keys = Array.from({ length: 300 }, (_, i) => k(`many${i}`));
      await Promise.all(keys.filter((_, i) => i % 3 !== 0).map((key, i) => store.set(key, b(key))));
      const got = await store.getMany(keys);
      got.forEach((v, i) => expect(v, keys[i]).toEqual(i % 3 === 0 ? undefined : b(keys[i]!)));
    });

    it('keys: any printable ASCII up to MAX_KEY_BYTES, kept apart exactly', async () => {
      const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
      const longest = k('').padEnd(MAX_KEY_BYTES, 'z');
      const sibling = `${longest.slice(0, -1)}y`;
      await store.set(k(printable), b('p'));
      await store.set(longest, b('long'));
      await store.set(sibling, b('sibling'));
      expect(await store.get(k(printable))).toEqual(b('p'));
      expect(await store.getMany([longest, sibling])).toEqual([b('long'), b('sibling')]);
    });

    it('bad keys are InvalidArgumentError in every method, before the backend is asked', async () => {
      for (const [label, key] of BAD_KEYS) {
        const bad = key as string;
        for (const call of [
          () => store.get(bad),
          () => store.getMany([k('fine'), bad]),
          () => store.set(bad, b('v')),
          () => store.add(bad, b('v'), { ttlMs: 1000 }),
          () => store.deleteIf(bad, b('v')),
          () => store.delete(bad),
        ]) {
          const err = await rejectsWith(call, InvalidArgumentError);
          expect((err as InvalidArgumentError).code, label).toBe('ERR_MOTE_INVALID_ARGUMENT');
        }
      }
      await rejectsWith(() => store.getMany('abc' as never), InvalidArgumentError);
    });

    it('bad values and TTLs are InvalidArgumentError, and nothing is stored', async () => {
      const big = Buffer.alloc(MAX_VALUE_BYTES + 1);
      for (const value of [big, 'a string', undefined, null, 42, [1, 2]] as unknown[]) {
        await rejectsWith(() => store.set(k('v'), value as Buffer), InvalidArgumentError);
        await rejectsWith(() => store.add(k('v'), value as Buffer, { ttlMs: 1000 }), InvalidArgumentError);
        await rejectsWith(() => store.deleteIf(k('v'), value as Buffer), InvalidArgumentError);
      }
      for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000', null]) {
        await rejectsWith(() => store.set(k('v'), b('v'), { ttlMs: ttlMs as number }), InvalidArgumentError);
        await rejectsWith(() => store.add(k('v'), b('v'), { ttlMs: ttlMs as number }), InvalidArgumentError);
      }
      await rejectsWith(() => store.add(k('v'), b('v'), {} as never), InvalidArgumentError);
      await rejectsWith(() => store.add(k('v'), b('v'), undefined as never), InvalidArgumentError);
      expect(await store.get(k('v'))).toBeUndefined();
    });

    it('TTL: a value with a short TTL goes; one with a long TTL or none stays; set without a TTL clears an earlier one', async () => {
      await store.set(k('cleared'), b('c1'), { ttlMs: 300 }); // first: its TTL ends no later than `short`'s
      await store.set(k('short'), b('s'), { ttlMs: 300 });
      await store.set(k('cleared'), b('c2'));
      await store.set(k('long'), b('l'), { ttlMs: 600_000 });
      await store.set(k('forever'), b('f'));
      expect(await store.get(k('long'))).toEqual(b('l'));
      await until(async () => (await store.get(k('short'))) === undefined, EXPIRY_WAIT_MS, 'expiry');
      expect(await store.getMany([k('short'), k('long'), k('forever'), k('cleared')])).toEqual([undefined, b('l'), b('f'), b('c2')]);
      expect(await store.deleteIf(k('short'), b('s'))).toBe(false); // an expired value is no longer there to delete
    });

    it('add: stores only when absent (set or added earlier), and again once the earlier value expired', async () => {
      await store.set(k('set'), b('v'));
      expect(await store.add(k('set'), b('w'), { ttlMs: 60_000 })).toBe(false);
      expect(await store.get(k('set'))).toEqual(b('v'));
      expect(await store.add(k('a'), b('1'), { ttlMs: 300 })).toBe(true);
      expect(await store.add(k('a'), b('2'), { ttlMs: 60_000 })).toBe(false);
      await until(() => store.add(k('a'), b('3'), { ttlMs: 60_000 }), EXPIRY_WAIT_MS, 'add after expiry');
      expect(await store.get(k('a'))).toEqual(b('3'));
      await store.delete(k('a'));
      expect(await store.add(k('a'), b('4'), { ttlMs: 60_000 })).toBe(true);
    });

    it('add is atomic: of 60 concurrent adds over several connections, exactly one wins (5 rounds)', async () => {
      const hs = await handles();
      for (let round = 0; round < 5; round++) {
        const key = k(`race${round}`);
        const results = await Promise.all(
          Array.from({ length: 60 }, (_, i) => hs[i % hs.length]!.add(key, b(`w${i}`), { ttlMs: 60_000 })),
        );
        expect(results.filter(Boolean), `round ${round}`).toHaveLength(1);
        expect(await store.get(key)).toEqual(b(`w${results.indexOf(true)}`));
      }
    });

    it('deleteIf: only with exactly the value held', async () => {
      await store.set(k('d'), b('held'));
      expect(await store.deleteIf(k('d'), b('hel'))).toBe(false);
      expect(await store.deleteIf(k('d'), b('held!'))).toBe(false);
      expect(await store.deleteIf(k('d'), Buffer.alloc(0))).toBe(false);
      expect(await store.deleteIf(k('none'), b('held'))).toBe(false);
      expect(await store.get(k('d'))).toEqual(b('held'));
      expect(await store.deleteIf(k('d'), b('held'))).toBe(true);
      expect(await store.get(k('d'))).toBeUndefined();
      expect(await store.deleteIf(k('d'), b('held'))).toBe(false);
    });

    it('deleteIf is atomic: of 30 concurrent calls exactly one deletes; it never deletes a value set meanwhile', async () => {
      const hs = await handles();
      for (let round = 0; round < 5; round++) {
        const key = k(`del${round}`);
        await store.set(key, b('v1'));
        const results = await Promise.all(Array.from({ length: 30 }, (_, i) => hs[i % hs.length]!.deleteIf(key, b('v1'))));
        expect(results.filter(Boolean), `round ${round}`).toHaveLength(1);
      }
      // A compare-and-delete racing a set: whichever lands first, v2 survives (a delete between a read and a
      // blind DEL would remove it).
      for (let round = 0; round < 20; round++) {
        const key = k(`cas${round}`);
        await store.set(key, b('v1'));
        const [deleted] = await Promise.all([hs[round % hs.length]!.deleteIf(key, b('v1')), hs[(round + 1) % hs.length]!.set(key, b('v2'))]);
        expect(typeof deleted).toBe('boolean');
        expect(await store.get(key), `round ${round}`).toEqual(b('v2'));
      }
    });

    it('200 concurrent writes and reads of different keys all land', async () => {
      const keys = Array.from({ length: 200 }, (_, i) => k(`c${i}`));
      await Promise.all(keys.flatMap((key, i) => [store.set(key, b(`v${i}`)), store.get(key)]));
      expect(await Promise.all(keys.map((key) => store.get(key)))).toEqual(keys.map((_, i) => b(`v${i}`)));
    });

    it('a peer on the same data sees the writes', async () => {
      if (!h.peer) return;
      const [, other] = await handles();
      await store.set(k('shared'), b('from one'));
      expect(await other!.get(k('shared'))).toEqual(b('from one'));
      await other!.delete(k('shared'));
      expect(await store.get(k('shared'))).toBeUndefined();
    });

    it('a closed store refuses every call with CacheUnavailableError; close is idempotent', async () => {
      await store.set(k('before'), b('v'));
      await store.close();
      for (const call of [
        () => store.get(k('before')),
        () => store.getMany([k('before')]),
        () => store.set(k('x'), b('v')),
        () => store.add(k('x'), b('v'), { ttlMs: 1000 }),
        () => store.deleteIf(k('before'), b('v')),
        () => store.delete(k('before')),
      ]) {
        const err = await rejectsWith(call, CacheUnavailableError);
        expect((err as CacheUnavailableError).code).toBe('ERR_CACHE_UNAVAILABLE');
      }
      await store.close();
    });
  });
}
