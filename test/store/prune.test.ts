import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitMode, FileMoteCache, InvalidArgumentError, digestOf, type FileMoteCacheOptions, type MoteInfo } from '../../src/index.js';
import { makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DIST = path.join(REPO, 'dist', 'index.js');
const PROPER_LOCKFILE = path.join(REPO, 'node_modules', 'proper-lockfile', 'index.js');

let scratch: { dir: string; cleanup: () => void };
let root: string;
const opened: FileMoteCache[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
function open(options: FileMoteCacheOptions = {}): FileMoteCache {
  const c = new FileMoteCache(root, { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-prune-');
  root = path.join(scratch.dir, 'cache');
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

const exists = (c: FileMoteCache, d: string): boolean => fs.existsSync(c.moteRef(d));
const present = (c: FileMoteCache, ds: string[]): string[] => ds.filter((d) => exists(c, d));

/** Rows of the SQLite index, read directly (not through the code under test). */
function indexRows(): Set<string> {
  const db = new Database(path.join(root, '.mote', 'index.db'), { readonly: true, fileMustExist: true });
  try {
    return new Set((db.prepare('SELECT digest FROM motes').pluck().all() as string[]).map(String));
  } finally {
    db.close();
  }
}

/** Writes `n` distinct motes of `size` bytes each, oldest first. */
async function many(c: FileMoteCache, n: number, size: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await c.put(Buffer.from(`mote #${i} `.padEnd(size, '.')))).digest);
  return out;
}

/**
 * A child process on the same root. It prints one line per step; `send` writes a line to its stdin. `lines`
 * yields its stdout lines as they come.
 */
function child(script: string, ...args: string[]) {
  const p = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(p);
  let stderr = '';
  p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const rl = createInterface({ input: p.stdout });
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  rl.on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else queue.push(line);
  });
  const exited = new Promise<number | null>((resolve) => p.once('exit', resolve));
  return {
    next: (): Promise<string> =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : Promise.race([
            new Promise<string>((resolve) => waiters.push(resolve)),
            exited.then((code) => Promise.reject(new Error(`child exited (${code}) early: ${stderr}`))),
          ]),
    send: (line: string): void => void p.stdin.write(`${line}\n`),
    exited,
  };
}

/** A child that holds the cross-process prune lock (exactly as src/store/file/prune.ts takes it) for `ms`, using proper-lockfile. */
function holdPruneLock(ms: number) {
  const script = `
    import { createRequire } from 'node:module';
    const lockfile = createRequire(import.meta.url)(${JSON.stringify(PROPER_LOCKFILE)});
    const target = process.argv[1] + '/.mote/prune';
    const release = await lockfile.lock(target, { realpath: false, lockfilePath: target + '.lock' });
    console.log('locked ' + Date.now());
    await new Promise((r) => setTimeout(r, ${ms}));
    const at = Date.now();
    await release();
    console.log('released ' + at);`;
  return child(script, root);
}

describe('LRU order', () => {
  it('follows use recorded in the index, not atime or mtime (as on a noatime mount)', async () => {
    const c = open();
    const [a, b, cc] = [randomData(1000), randomData(1000), randomData(1000)];
    const da = (await c.put(a)).digest;
    const db = (await c.put(b)).digest;
    const dc = (await c.put(cc)).digest;
    expect((await readAll(await c.moteReader(da))).equals(a)).toBe(true);
    // Make the file times say the opposite of the real use: a looks ancient, b looks brand new.
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    const inAnHour = new Date(Date.now() + 3_600_000);
    fs.utimesSync(c.moteRef(da), tenDaysAgo, tenDaysAgo);
    fs.utimesSync(c.moteRef(db), inAnHour, inAnHour);
    fs.utimesSync(c.moteRef(dc), new Date(), new Date());
    expect(await c.prune(2000)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 2000 });
    expect(present(c, [da, db, dc])).toEqual([da, dc]);
    expect(await c.prune(1000)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 1000 });
    expect(present(c, [da, db, dc])).toEqual([da]);
  });

  it('says which motes it removed (removedDigests), and none when the store is under the limit', async () => {
    const c = open();
    const [a, b, k] = [randomData(1000), randomData(1000), randomData(1000)];
    const da = (await c.put(a)).digest;
    const db = (await c.put(b)).digest;
    const dk = (await c.put(k)).digest;
    const r = await c.prune(1000);
    expect(r).toMatchObject({ removed: 2, freedBytes: 2000, remainingBytes: 1000 });
    expect([...r.removedDigests!].sort()).toEqual([da, db].sort());
    expect(present(c, [da, db, dk])).toEqual([dk]);
    expect(await c.prune(1000)).toEqual({ removed: 0, removedDigests: [], freedBytes: 0, remainingBytes: 1000, linkedCount: 0, linkedBytes: 0 });
  });

  it('every way of using a mote counts: get, moteReaderAt, put again, commitMote, moteReader', async () => {
    const c = open();
    const data = Array.from({ length: 6 }, () => randomData(500));
    const w: string[] = [];
    for (const d of data) w.push((await c.put(d)).digest);
    await c.get(w[3]!);
    await (await c.moteReaderAt(w[0]!)).close();
    await c.put(data[5]!);
    const src = path.join(scratch.dir, 'again');
    fs.writeFileSync(src, data[1]!);
    await c.commitMote(src, { digest: w[1]!, size: 500, mediaType: '' }, CommitMode.Copy);
    await readAll(await c.moteReader(w[4]!));
    // Least recently used first: w2 (only written), then w3, w0, w5, w1, w4.
    const expectedOrder = [w[2]!, w[3]!, w[0]!, w[5]!, w[1]!, w[4]!];
    for (let keep = 5; keep >= 0; keep--) {
      expect(await c.prune(keep * 500)).toMatchObject({ removed: 1, freedBytes: 500, remainingBytes: keep * 500 });
      expect(present(c, w).sort()).toEqual(expectedOrder.slice(6 - keep).sort());
    }
  });

  it('a use by another process counts', async () => {
    const c = open();
    const [da, db, dc] = [(await c.put(randomData(1000))).digest, (await c.put(randomData(1000))).digest, (await c.put(randomData(1000))).digest];
    const script = `import { FileMoteCache } from ${JSON.stringify(DIST)};
      const c = new FileMoteCache(process.argv[1]);
      for await (const _ of await c.moteReader(process.argv[2])) {}
      await c.close();`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script, root, da]);
    expect(await c.prune(2000)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 2000 });
    expect(present(c, [da, db, dc])).toEqual([da, dc]);
  });

  it('falls back to mtime order when index.db was deleted', async () => {
    let c = open();
    const ds: string[] = [];
    for (let i = 0; i < 4; i++) ds.push((await c.put(randomData(1000))).digest);
    await c.close();
    for (const s of ['', '-wal', '-shm']) fs.rmSync(path.join(root, '.mote', `index.db${s}`), { force: true });
    // Written 0, 1, 2, 3; mtimes say 2 is oldest, then 0, then 3, then 1.
    const t = Date.now();
    const mtimes = [t - 3_000_000, t - 1_000_000, t - 4_000_000, t - 2_000_000];
    ds.forEach((d, i) => fs.utimesSync(path.join(root, 'blobs', 'sha256', d.slice(7)), new Date(t), new Date(mtimes[i]!)));
    c = open();
    expect(await c.prune(3000)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 3000 });
    expect(present(c, ds)).toEqual([ds[0], ds[1], ds[3]]);
    expect(await c.prune(1000)).toMatchObject({ removed: 2, freedBytes: 2000, remainingBytes: 1000 });
    expect(present(c, ds)).toEqual([ds[1]]);
  });

  it('orders blobs the index does not know (dropped in by other tools) by mtime among known ones', async () => {
    const c = open();
    const known = [(await c.put(randomData(1000))).digest, (await c.put(randomData(1000))).digest];
    const foreign = (age: number): string => {
      const data = randomData(1000);
      const d = digestOf(data);
      fs.writeFileSync(c.moteRef(d), data);
      const when = new Date(Date.now() + age);
      fs.utimesSync(c.moteRef(d), when, when);
      return d;
    };
    const old = foreign(-3_600_000);
    const future = foreign(+3_600_000);
    expect(await c.prune(3000)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 3000 });
    expect(exists(c, old)).toBe(false);
    expect(await c.prune(1000)).toMatchObject({ removed: 2, freedBytes: 2000, remainingBytes: 1000 });
    expect(present(c, [...known, future])).toEqual([future]);
  });
});

describe('accounting', () => {
  it('returns exact {removed, freedBytes, remainingBytes} and forgets removed motes in the index', async () => {
    const c = open();
    const sizes = [100, 200, 300, 400, 500, 600];
    const motes: MoteInfo[] = [];
    for (const s of sizes) motes.push(await c.put(randomData(s)));
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(await c.prune(total)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: total });
    expect(await c.prune(total + 1)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: total });
    // Reference model: drop the oldest until at most 1000 bytes remain (here 100..500 go, 600 stays).
    let remaining = total;
    let removed = 0;
    for (const s of sizes) {
      if (remaining <= 1000) break;
      remaining -= s;
      removed++;
    }
    expect(await c.prune(1000)).toMatchObject({ removed, freedBytes: total - remaining, remainingBytes: remaining });
    expect(await c.stats()).toEqual({ count: sizes.length - removed, bytes: remaining, partialBytes: 0 });
    const rows = indexRows();
    motes.forEach((m, i) => expect(rows.has(m.digest), m.digest).toBe(i >= removed));
    expect(await c.prune(0)).toMatchObject({ removed: sizes.length - removed, freedBytes: remaining, remainingBytes: 0 });
    expect(indexRows().size).toBe(0);
  });

  it('rejects a maxSize that is not a whole number >= 0', async () => {
    const c = open();
    await c.put(randomData(10));
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
      const err = await c.prune(bad).catch((e: unknown) => e);
      expect(err, String(bad)).toBeInstanceOf(InvalidArgumentError);
      expect(err).toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
    }
    expect((await c.stats()).count).toBe(1);
  });

  it('counts every algorithm, in stats and in prune', async () => {
    const c = open();
    const put = async (size: number, alg: string): Promise<string> => {
      const data = randomData(size);
      return (await c.put(data, { digest: digestOf(data, alg) })).digest;
    };
    const d256 = await put(1000, 'sha256');
    const d512 = await put(2000, 'sha512');
    const db3 = await put(4000, 'blake3');
    expect(await c.stats()).toEqual({ count: 3, bytes: 7000, partialBytes: 0 });
    await readAll(await c.moteReader(d256)); // most recent
    expect(await c.prune(5000)).toMatchObject({ removed: 1, freedBytes: 2000, remainingBytes: 5000 });
    expect(present(c, [d256, d512, db3])).toEqual([d256, db3]);
    expect(await c.prune(0)).toMatchObject({ removed: 2, freedBytes: 5000, remainingBytes: 0 });
    expect(await c.stats()).toEqual({ count: 0, bytes: 0, partialBytes: 0 });
  });

  it('same content under two algorithms is two files; hard-linked (e.g. by a dedup tool) it counts once', async () => {
    const c = open();
    const data = randomData(10_000);
    const s = (await c.put(data, { digest: digestOf(data, 'sha256') })).digest;
    const b = (await c.put(data, { digest: digestOf(data, 'blake3') })).digest;
    expect(await c.stats()).toEqual({ count: 2, bytes: 20_000, partialBytes: 0 });
    fs.rmSync(c.moteRef(b));
    fs.linkSync(c.moteRef(s), c.moteRef(b));
    expect(await c.stats()).toEqual({ count: 2, bytes: 10_000, partialBytes: 0 });
    // Counted once, the store already fits in 10,000 bytes: nothing to remove.
    expect(await c.prune(10_000)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: 10_000 });
    expect(present(c, [s, b])).toEqual([s, b]);
  });

  it('a blob with an extra hard link outside the store counts once and is not removed (that would free nothing)', async () => {
    const c = open();
    const linked = await c.put(randomData(3000));
    const plain = await c.put(randomData(2000));
    await readAll(await c.moteReader(plain.digest)); // `linked` is the least recently used
    const outside = path.join(scratch.dir, 'hardlink-outside');
    fs.linkSync(c.moteRef(linked.digest), outside);
    expect(fs.statSync(outside).nlink).toBe(2);
    expect(await c.stats()).toEqual({ count: 2, bytes: 5000, partialBytes: 0 });
    // It says what it kept for that reason, and how many bytes (still counted as remaining).
    expect(await c.prune(0)).toEqual({ removed: 1, removedDigests: [plain.digest], freedBytes: 2000, remainingBytes: 3000, linkedCount: 1, linkedBytes: 3000 });
    expect(exists(c, linked.digest)).toBe(true);
    expect(exists(c, plain.digest)).toBe(false);
    fs.rmSync(outside);
    expect(await c.prune(0)).toEqual({ removed: 1, removedDigests: [linked.digest], freedBytes: 3000, remainingBytes: 0, linkedCount: 0, linkedBytes: 0 });
  });
});

describe('motes open for reading', () => {
  it('without link-on-read, a mote being streamed is kept by prune and the read completes', async () => {
    const c = open({ linkOnRead: false });
    const data = randomData(3 << 20);
    const held = (await c.put(data)).digest;
    const other = (await c.put(randomData(1000))).digest;
    await readAll(await c.moteReader(other)); // `held` is the least recently used
    const r = await c.moteReader(held);
    const chunks: Buffer[] = [];
    let pruned: Awaited<ReturnType<FileMoteCache['prune']>> | undefined;
    for await (const chunk of r) {
      chunks.push(chunk as Buffer);
      pruned ??= await c.prune(0);
    }
    expect(pruned).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: data.length });
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(exists(c, other)).toBe(false);
    expect(exists(c, held)).toBe(true);
    expect(await c.prune(0)).toMatchObject({ removed: 1, freedBytes: data.length, remainingBytes: 0 });
  });

  it('with link-on-read, a mote held open by a moteReaderAt is kept and still reads in full', async () => {
    const c = open();
    const data = randomData(100_000);
    const held = (await c.put(data)).digest;
    const r = await c.moteReaderAt(held);
    expect(await c.prune(0)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: data.length });
    const buf = Buffer.alloc(data.length);
    expect(await r.read(buf, 0, buf.length, 0)).toBe(data.length);
    expect(buf.equals(data)).toBe(true);
    await r.close();
    expect(temporaries(root)).toEqual([]);
    expect(await c.prune(0)).toMatchObject({ removed: 1, freedBytes: data.length, remainingBytes: 0 });
  });

  it('a mote held open by another process is kept', async () => {
    const c = open();
    const data = randomData(200_000);
    const held = (await c.put(data)).digest;
    const other = (await c.put(randomData(1000))).digest;
    const reader = child(
      `import { FileMoteCache } from ${JSON.stringify(DIST)};
       import { createHash } from 'node:crypto';
       import { createInterface } from 'node:readline';
       const c = new FileMoteCache(process.argv[1]);
       const r = await c.moteReaderAt(process.argv[2]);
       console.log('open');
       const rl = createInterface({ input: process.stdin });
       for await (const _ of rl) break;
       const buf = Buffer.alloc(r.size);
       await r.read(buf, 0, r.size, 0);
       await r.close();
       console.log('sha256:' + createHash('sha256').update(buf).digest('hex'));
       await c.close();
       process.exit(0);`,
      root,
      held,
    );
    expect(await reader.next()).toBe('open');
    expect(await c.prune(0)).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: data.length });
    expect(exists(c, held)).toBe(true);
    expect(exists(c, other)).toBe(false);
    reader.send('go');
    expect(await reader.next()).toBe(held);
    expect(await reader.exited).toBe(0);
    expect(temporaries(root)).toEqual([]);
    expect(await c.prune(0)).toMatchObject({ removed: 1, freedBytes: data.length, remainingBytes: 0 });
  });
});

describe('one prune at a time', () => {
  it('two concurrent prune() calls in one process run one after the other', async () => {
    const c = open();
    // More than one 2,000-mote batch: a prune yields to the event loop between batches, where a second,
    // unserialized prune would interleave and both would remove motes (over-pruning).
    const ds = await many(c, 2600, 64);
    const [r1, r2] = await Promise.all([c.prune(100 * 64), c.prune(100 * 64)]);
    const results = [r1, r2].sort((x, y) => y.removed - x.removed);
    expect(results).toMatchObject([
      { removed: 2500, freedBytes: 2500 * 64, remainingBytes: 100 * 64 },
      { removed: 0, freedBytes: 0, remainingBytes: 100 * 64 },
    ]);
    expect(results[0]!.removedDigests!.sort()).toEqual(ds.slice(0, 2500).sort());
    expect(present(c, ds)).toEqual(ds.slice(2500));
  });

  it('waits while another process holds the prune lock; reads and writes go on meanwhile', async () => {
    const c = open();
    const ds = await many(c, 20, 100);
    const holder = holdPruneLock(1500);
    expect(await holder.next()).toMatch(/^locked \d+$/);
    let settledAt = 0;
    const pruning = c.prune(0).then((r) => ((settledAt = Date.now()), r));
    // Readers and writers do not need the prune lock.
    const extra = await c.put(Buffer.from('written while a prune waits'));
    expect((await readAll(await c.moteReader(ds[0]!))).length).toBe(100);
    await sleep(300);
    expect(settledAt).toBe(0);
    expect(present(c, ds)).toEqual(ds);
    const released = Number((await holder.next()).replace('released ', ''));
    const result = await pruning;
    expect(settledAt).toBeGreaterThanOrEqual(released);
    expect(result).toMatchObject({ removed: 21, freedBytes: 2000 + extra.size, remainingBytes: 0 });
    expect(await holder.exited).toBe(0);
  });
});

describe('abort', () => {
  it('an already aborted signal rejects with ABORT_ERR and removes nothing', async () => {
    const c = open();
    const ds = await many(c, 5, 100);
    const ac = new AbortController();
    ac.abort();
    await expect(c.prune(0, { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR', name: 'AbortError' });
    expect(present(c, ds)).toEqual(ds);
    expect(fs.existsSync(path.join(root, '.mote', 'prune.lock'))).toBe(false);
  });

  it('aborting while waiting for the lock rejects promptly with ABORT_ERR and removes nothing', async () => {
    const c = open();
    const ds = await many(c, 5, 100);
    const holder = holdPruneLock(1500);
    expect(await holder.next()).toMatch(/^locked/);
    const ac = new AbortController();
    const pruning = c.prune(0, { signal: ac.signal }).catch((e: unknown) => e);
    await sleep(200);
    const t = Date.now();
    ac.abort();
    expect(await pruning).toMatchObject({ code: 'ABORT_ERR' });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(present(c, ds)).toEqual(ds);
  });

  it('aborting mid-prune rejects with ABORT_ERR and leaves a consistent store', async () => {
    const c = open();
    const ds = await many(c, 2600, 64);
    const ac = new AbortController();
    // Abort as soon as the first batch of removals is visible (prune checks the signal between batches).
    let watching = true;
    const watch = (): void => {
      if (!watching) return;
      if (!exists(c, ds[0]!)) ac.abort(new Error('enough'));
      else setImmediate(watch);
    };
    setImmediate(watch);
    const err = await c.prune(0, { signal: ac.signal }).catch((e: unknown) => e);
    watching = false;
    expect(err).toMatchObject({ code: 'ABORT_ERR' });
    const left = present(c, ds);
    expect(left.length).toBeGreaterThan(0);
    expect(left.length).toBeLessThan(ds.length);
    // Oldest first: what is left is a suffix of the write order.
    expect(left).toEqual(ds.slice(ds.length - left.length));
    // Consistent: remaining blobs are intact, the index holds rows only for them, no temporaries, no lock.
    const v = await c.verify();
    expect(v).toMatchObject({ checked: left.length, bytes: left.length * 64, corrupt: [] });
    const rows = indexRows();
    for (const d of ds) expect(rows.has(d), d).toBe(left.includes(d));
    expect(temporaries(root)).toEqual([]);
    expect(fs.existsSync(path.join(root, '.mote', 'prune.lock'))).toBe(false);
    // And the next prune runs at once and finishes the job.
    const t = Date.now();
    expect(await c.prune(0)).toMatchObject({ removed: left.length, freedBytes: left.length * 64, remainingBytes: 0 });
    expect(Date.now() - t).toBeLessThan(5000);
  });
});

describe('prune by age (olderThanMs)', () => {
  /** Sets the last use the index records for `digest` to `msAgo` milliseconds ago (microseconds in the index). */
  function lastUsedAgo(digest: string, msAgo: number): void {
    const db = new Database(path.join(root, '.mote', 'index.db'));
    try {
      const changed = db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?').run((Date.now() - msAgo) * 1000, digest).changes;
      expect(changed).toBe(1);
    } finally {
      db.close();
    }
  }
  const DAY = 86_400_000;

  it('removes what was not used within the window, whatever the size; keeps the rest', async () => {
    const c = open();
    const [old, older, recent, fresh] = await many(c, 4, 1000);
    lastUsedAgo(old!, 31 * DAY);
    lastUsedAgo(older!, 400 * DAY);
    lastUsedAgo(recent!, 29 * DAY);
    const r = await c.prune(Number.MAX_SAFE_INTEGER, { olderThanMs: 30 * DAY });
    expect(new Set(r.removedDigests)).toEqual(new Set([old, older]));
    expect(r.removed).toBe(2);
    expect(r.freedBytes).toBe(2000);
    expect(present(c, [old!, older!, recent!, fresh!])).toEqual([recent, fresh]);
    expect(indexRows()).toEqual(new Set([recent, fresh]));
    // Nothing old left: a second prune removes nothing.
    expect((await c.prune(Number.MAX_SAFE_INTEGER, { olderThanMs: 30 * DAY })).removed).toBe(0);
  });

  it('with a size too: the old ones go first, then the least recently used until the size is reached', async () => {
    const c = open();
    const [a, b, d, e] = await many(c, 4, 1000);
    lastUsedAgo(a!, 10 * DAY);
    lastUsedAgo(b!, 3 * DAY);
    lastUsedAgo(d!, 2 * DAY);
    lastUsedAgo(e!, 1 * DAY);
    const r = await c.prune(2000, { olderThanMs: 7 * DAY });
    expect(new Set(r.removedDigests)).toEqual(new Set([a, b]));
    expect(present(c, [a!, b!, d!, e!])).toEqual([d, e]);
    expect(r.remainingBytes).toBe(2000);
  });

  it('spares a mote linked elsewhere however old (removing our name would free nothing), and says so', async () => {
    const c = open();
    const [linked, plain] = await many(c, 2, 1000);
    fs.linkSync(c.moteRef(linked!), path.join(scratch.dir, 'layout-copy'));
    lastUsedAgo(linked!, 100 * DAY);
    lastUsedAgo(plain!, 100 * DAY);
    const r = await c.prune(Number.MAX_SAFE_INTEGER, { olderThanMs: DAY });
    expect(r.removedDigests).toEqual([plain]);
    expect(r.linkedCount).toBe(1);
    expect(exists(c, linked!)).toBe(true);
  });

  it('a read refreshes the last use: a mote read since is kept', async () => {
    const c = open();
    const [a, b] = await many(c, 2, 500);
    lastUsedAgo(a!, 2 * DAY);
    lastUsedAgo(b!, 2 * DAY);
    await readAll(await c.moteReader(a!));
    expect(await c.prune(Number.MAX_SAFE_INTEGER, { olderThanMs: DAY })).toMatchObject({ removed: 1, removedDigests: [b] });
    expect(present(c, [a!, b!])).toEqual([a]);
  });

  it('refuses an age that is not a whole non-negative number of milliseconds', async () => {
    const c = open();
    for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
      await expect(c.prune(0, { olderThanMs: bad })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });
});

describe('prune by age without a last-use record', () => {
  it('spares a blob the index has no row for (its mtime says when it was written, not used), unless over the size', async () => {
    const c = open();
    const [undated, old] = await many(c, 2, 1000);
    const db = new Database(path.join(root, '.mote', 'index.db'));
    try {
      db.prepare('DELETE FROM motes WHERE digest = ?').run(undated);
      db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?').run((Date.now() - 90 * 86_400_000) * 1000, old);
    } finally {
      db.close();
    }
    const longAgo = new Date(Date.now() - 90 * 86_400_000);
    fs.utimesSync(c.moteRef(undated!), longAgo, longAgo);
    const r = await c.prune(Number.MAX_SAFE_INTEGER, { olderThanMs: 86_400_000 });
    expect(r.removedDigests).toEqual([old]);
    expect(exists(c, undated!)).toBe(true);
    // Over the size, it goes like any other (by its mtime order).
    expect((await c.prune(0, { olderThanMs: 86_400_000 })).removedDigests).toEqual([undated]);
  });
});
