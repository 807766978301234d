/**
 * What sits in `blobs/` is not trusted: a blob path holds a regular read-only file whose content matches its name,
 * and anything else found there (a symlink, a directory, a FIFO, a socket, a file of the wrong size) is corrupt.
 * Each kind is made for real on disk (symlinks to a file outside the store, even one with the right content; a
 * FIFO nobody writes to, which would hang an open without O_NONBLOCK; a listening unix socket) and then every
 * read, write and management path is run against it, in every read configuration.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitMode, FileMoteCache, MoteNotFoundError, PullThroughCache, digestOf, type FileMoteCacheOptions } from '../../src/index.js';
import { registeredStore } from '../../src/store/file/context.js';
import { evictCorrupt } from '../../src/store/file/blob-file.js';
import { chunked, makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

let scratch: { dir: string; cleanup: () => void };
const opened: FileMoteCache[] = [];
const servers: net.Server[] = [];
function open(name = 'cache', options: FileMoteCacheOptions = {}): FileMoteCache {
  const c = new FileMoteCache(path.join(scratch.dir, name), { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-entries-');
});
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

type Kind = 'symlink to the right content' | 'symlink to a secret' | 'dangling symlink' | 'empty directory' | 'directory with files' | 'fifo' | 'socket';
const KINDS: Kind[] = ['symlink to the right content', 'symlink to a secret', 'dangling symlink', 'empty directory', 'directory with files', 'fifo', 'socket'];

/** Puts a `kind` entry at `blobPath`; `data` is the mote's right content. */
async function plant(kind: Kind, blobPath: string, data: Buffer): Promise<void> {
  fs.mkdirSync(path.dirname(blobPath), { recursive: true });
  const outside = path.join(scratch.dir, `outside-${Math.random().toString(16).slice(2)}`);
  switch (kind) {
    case 'symlink to the right content':
      fs.writeFileSync(outside, data);
      return fs.symlinkSync(outside, blobPath);
    case 'symlink to a secret':
      fs.writeFileSync(outside, 'SECRET outside the store');
      return fs.symlinkSync(outside, blobPath);
    case 'dangling symlink':
      return fs.symlinkSync(outside, blobPath);
    case 'empty directory':
      return fs.mkdirSync(blobPath);
    case 'directory with files':
      fs.mkdirSync(path.join(blobPath, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(blobPath, 'sub', 'f'), data);
      return;
    case 'fifo':
      execFileSync('mkfifo', [blobPath]);
      return;
    case 'socket': {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(blobPath, resolve));
      return;
    }
  }
}

/** The blob path holds the mote: a regular, read-only file with the right content. */
function expectGoodBlob(c: FileMoteCache, digest: string, data: Buffer): void {
  const st = fs.lstatSync(c.moteRef(digest));
  expect(st.isFile()).toBe(true);
  expect(st.mode & 0o222).toBe(0);
  expect(fs.readFileSync(c.moteRef(digest)).equals(data)).toBe(true);
}

describe('an entry at a blob path that is not a regular file', () => {
  for (const kind of KINDS) {
    describe(kind, () => {
      for (const options of [{ linkOnRead: true }, { linkOnRead: false }, { verifyOnRead: 'always' as const }]) {
        it(`is a miss for every read (${JSON.stringify(options)}), is never followed, and is evicted by the read`, async () => {
          const c = open('cache', options);
          await c.initialize();
          const data = randomData(3000);
          const d = digestOf(data);
          for (const read of [
            () => c.get(d),
            async () => readAll(await c.moteReader(d)),
            async () => (await c.moteReaderAt(d)).close(),
          ]) {
            await plant(kind, c.moteRef(d), data);
            expect(await c.moteExists(d)).toBe(false);
            expect(await c.find(d)).toBeUndefined();
            await expect(read()).rejects.toBeInstanceOf(MoteNotFoundError);
            expect(fs.lstatSync(c.moteRef(d), { throwIfNoEntry: false })).toBeUndefined(); // evicted
            expect(temporaries(c.root)).toEqual([]);
          }
        });
      }

      it('is reported corrupt and removed by verify, and never counted by list, stats or prune', async () => {
        const c = open();
        const good = await c.put(randomData(500), { mediaType: 'x/good' });
        const data = randomData(2000);
        const d = digestOf(data);
        await plant(kind, c.moteRef(d), data);
        expect(await c.stats()).toMatchObject({ count: 1, bytes: 500 });
        const listed: string[] = [];
        for await (const m of c.list()) listed.push(m.digest);
        expect(listed).toEqual([good.digest]);
        expect(await c.prune(0)).toMatchObject({ removed: 1, freedBytes: 500, remainingBytes: 0 });
        await c.put(randomData(500)); // something to check besides
        const result = await c.verify();
        expect(result.corrupt).toEqual([d]);
        expect(result.checked).toBe(1);
        expect(fs.lstatSync(c.moteRef(d), { throwIfNoEntry: false })).toBeUndefined();
        expect((await c.verify()).corrupt).toEqual([]);
        expect(temporaries(c.root)).toEqual([]);
      });

      const writes: Array<[string, (c: FileMoteCache, data: Buffer, d: string) => Promise<unknown>]> = [
        ['put of a buffer (the synchronous path)', (c, data) => c.put(data)],
        ['put of a stream', (c, data) => c.put(chunked(data, 700))],
        ['moteWriter', async (c, data, d) => {
          await c.createMote(d, 'x/w', data.length);
          await pipeline(chunked(data, 700), await c.moteWriter(d));
        }],
        ['commitMote copy', async (c, data, d) => {
          const src = path.join(scratch.dir, 'src-copy');
          fs.writeFileSync(src, data);
          await c.commitMote(src, { digest: d, size: data.length, mediaType: 'x/c' }, CommitMode.Copy);
        }],
        ['commitMote move', async (c, data, d) => {
          const src = path.join(scratch.dir, 'src-move');
          fs.writeFileSync(src, data);
          await c.commitMote(src, { digest: d, size: data.length, mediaType: 'x/m' }, CommitMode.Move);
          expect(fs.existsSync(src)).toBe(false);
        }],
        ['a pull-through fetch', async (c, data) => {
          const source = open('source');
          const { digest } = await source.put(data);
          await new PullThroughCache(c, source).fetch(digest);
        }],
      ];
      for (const [name, write] of writes) {
        it(`is replaced by a good write: ${name}`, async () => {
          const c = open();
          await c.initialize();
          const data = randomData(3000);
          const d = digestOf(data);
          await plant(kind, c.moteRef(d), data);
          await write(c, data, d);
          expectGoodBlob(c, d, data);
          expect((await c.get(d)).equals(data)).toBe(true);
          expect(await c.verify()).toMatchObject({ checked: 1, corrupt: [] });
          expect(temporaries(c.root)).toEqual([]);
        });
      }
    });
  }

  it("commitMote of the blob path itself, holding a symlink: the target's bytes are verified and published as a regular file", async () => {
    const c = open();
    await c.initialize();
    const data = randomData(1000);
    const d = digestOf(data);
    await plant('symlink to the right content', c.moteRef(d), data);
    await c.commitMote(c.moteRef(d), { digest: d, size: data.length, mediaType: 'x/self' }, CommitMode.Move);
    expectGoodBlob(c, d, data);
  });
});

describe('a regular blob of the wrong size', () => {
  const variants: Array<[string, (data: Buffer) => Buffer]> = [
    ['truncated', (data) => data.subarray(0, data.length - 100)],
    ['empty', () => Buffer.alloc(0)],
    ['extended', (data) => Buffer.concat([data, Buffer.from('more')])],
  ];
  for (const [variant, change] of variants) {
    for (const [name, write] of [
      ['put of a buffer', (c: FileMoteCache, data: Buffer) => c.put(data)],
      ['put of a stream', (c: FileMoteCache, data: Buffer) => c.put(chunked(data, 500))],
      ['a pull-through fetch of a miss', async (c: FileMoteCache, data: Buffer) => {
        const source = open('source');
        await source.put(data);
        // fetch() trusts a published regular file (as every read does); a miss is what brings the download.
        await c.removeMote(digestOf(data));
        await new PullThroughCache(c, source).fetch(digestOf(data));
      }],
    ] as const) {
      it(`${variant}: replaced by ${name}`, async () => {
        const c = open();
        const data = randomData(4000);
        const { digest } = await c.put(data);
        const p = c.moteRef(digest);
        fs.chmodSync(p, 0o644);
        fs.writeFileSync(p, change(data));
        fs.chmodSync(p, 0o444);
        await write(c, data);
        expectGoodBlob(c, digest, data);
      });
    }
  }

  it('a regular blob of the right size is kept by a dedup put (same inode: layouts that hard-link it stay shared)', async () => {
    const c = open();
    const data = randomData(4000);
    const { digest } = await c.put(data);
    const ino = fs.statSync(c.moteRef(digest)).ino;
    await c.put(data);
    await c.put(chunked(data, 500));
    expect(fs.statSync(c.moteRef(digest)).ino).toBe(ino);
  });
});

describe('evicting a corrupt entry', () => {
  it('puts back a good copy that a writer published between the judgement and the eviction', async () => {
    const c = open();
    await c.initialize();
    const data = randomData(1000);
    const d = digestOf(data);
    await plant('symlink to a secret', c.moteRef(d), data);
    const judged = fs.lstatSync(c.moteRef(d)).ino;
    await c.put(data); // the writer replaces the symlink
    const good = fs.statSync(c.moteRef(d)).ino;
    evictCorrupt(registeredStore(c)!.ctx, d, judged);
    expect(fs.statSync(c.moteRef(d)).ino).toBe(good);
    expectGoodBlob(c, d, data);
    expect(temporaries(c.root)).toEqual([]);
  });
});
