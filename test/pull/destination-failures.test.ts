/**
 * Destination writers under failure, without a registry (blobs from a local FileMoteCache): an abort at every
 * moment of a write, a full disk (a real tmpfs), existing layouts and archives that are damaged or hostile
 * (wrong bytes, symbolic links, FIFOs, truncated or non-tar archives, archives with files of their own), and the
 * leftovers of writers that died. After every failure: a typed error, the destination exactly as it was (byte for
 * byte), no temporary and no lock left beside it, and no unhandled error (vitest fails the run on one).
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import { AbortError, NoSpaceError } from '../../src/errors.js';
import { acquireLock } from '../../src/internal/lockfile.js';
import { REF_NAME_ANNOTATION } from '../../src/oci/image-layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { cacheBlobSource, type BlobSource, type ImageToWrite } from '../../src/pull/destination/blob-source.js';
import { readOciArchive, writeOciArchive } from '../../src/pull/destination/oci-archive.js';
import { readLayoutIndex, writeOciLayout } from '../../src/pull/destination/oci-dir.js';
import { InvalidDestinationError, UnsafeArchiveError } from '../../src/pull/errors.js';
import { FileMoteCache } from '../../src/store/file-cache.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { which } from '../helpers/net.js';
import { deadPid, makeTempDir } from '../helpers/tmp.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const HAVE_UMOCI = which('umoci') !== undefined;
const HAVE_SKOPEO = which('skopeo') !== undefined;
const HAVE_TAR = which('tar') !== undefined;
const MIB = 1 << 20;

const { dir: scratch, cleanup } = makeTempDir('motecache-dest-failures-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
/** A fresh, empty directory to hold one destination (so everything beside it can be checked). */
const workDir = (label: string): string => {
  const d = fresh(label);
  fs.mkdirSync(d);
  return d;
};
const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));

/** Everything under `dir`: type, and content hash or link target; a snapshot to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `link -> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else if (st.isFile()) out[r] = `file ${sha256(fs.readFileSync(p))}`;
      else out[r] = 'special';
    }
  };
  walk('');
  return out;
}

/** Names under `dir` (recursively) that are a writer's temporaries or locks. */
function leftovers(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /mote-(tmp|extract)|\.lock$/.test(f)).sort();
}

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the write to fail');
    },
    (e: unknown) => e,
  );
}

// ---- images in a local store ----

let small: BuiltImage;
let other: BuiltImage;
let big: BuiltImage;
let cacheRoot: string;

beforeAll(async () => {
  const layout = fresh('src-layout');
  small = await makeImage(layout, { tag: 'small', layers: [{ size: 200_000 }, { size: 20_000 }] });
  other = await makeImage(layout, { tag: 'other', layers: [{ size: 60_000 }] });
  big = await makeImage(layout, { tag: 'big', layers: [{ size: 2 * MIB }, { size: 2 * MIB }, { size: 2 * MIB }] });
  cacheRoot = fresh('cache');
  const cache = new FileMoteCache(cacheRoot, { durable: false });
  for (const b of [...small.blobs, ...other.blobs, ...big.blobs]) {
    await cache.put(fs.readFileSync(blobFile(layout, b.digest)), { digest: b.digest, mediaType: b.mediaType });
  }
  await cache.close();
}, 120_000);

afterAll(cleanup);
afterEach(() => {
  vi.restoreAllMocks();
});

const toWrite = (img: BuiltImage): ImageToWrite => ({ entry: { mediaType: img.mediaType, digest: img.digest, size: img.size }, blobs: img.blobs });

async function withSource<T>(fn: (source: BlobSource) => Promise<T>, placement: 'link' | 'copy' = 'link'): Promise<T> {
  const cache = new FileMoteCache(cacheRoot, { durable: false });
  try {
    return await fn(cacheBlobSource(cache, placement));
  } finally {
    await cache.close();
  }
}

interface Hooks {
  /** Before the i-th blob (0-based) is opened for an archive or placed in a layout. */
  beforeBlob?: (i: number) => void;
  /** After the first chunk of the i-th blob opened for an archive. */
  afterFirstChunk?: (i: number) => void;
  /** When the i-th blob's stream (archive) has given its last byte. */
  afterLastChunk?: (i: number) => void;
}

/** `inner`, with hooks at given moments (to abort there). */
function hooked(inner: BlobSource, hooks: Hooks): BlobSource {
  let opened = 0;
  let copied = 0;
  return {
    async copyTo(d, target, signal) {
      hooks.beforeBlob?.(copied++);
      return inner.copyTo(d, target, signal);
    },
    async open(d) {
      const i = opened++;
      hooks.beforeBlob?.(i);
      const stream = await inner.open(d);
      return Readable.from(
        (async function* () {
          let first = true;
          for await (const chunk of stream) {
            yield chunk as Buffer;
            if (first) hooks.afterFirstChunk?.(i);
            first = false;
          }
          hooks.afterLastChunk?.(i);
        })(),
      );
    },
  };
}

/** Aborts `controller` the first time `fs.promises.open(p, 'r')` is called for a path `match` accepts (then opens). */
function abortOnOpenForSync(controller: AbortController, match: (p: string) => boolean): void {
  const real = fs.promises.open;
  vi.spyOn(fs.promises, 'open').mockImplementation(((p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
    if (flags === 'r' && match(String(p)) && !controller.signal.aborted) controller.abort(new Error('test abort'));
    return real(p, flags, mode);
  }) as typeof fs.promises.open);
}

async function expectAborted(p: Promise<unknown>): Promise<void> {
  const err = await failureOf(p);
  expect(err).toBeInstanceOf(AbortError);
  expect((err as AbortError).code).toBe('ABORT_ERR');
}

describe('oci-archive: an abort at any moment leaves the archive as it was and nothing beside it', () => {
  /** A work dir holding `dest.tar`: absent, or an archive of `small` (tag `small`). */
  async function setup(existing: boolean): Promise<{ work: string; file: string; before: Record<string, string> }> {
    const work = workDir('abort-archive');
    const file = path.join(work, 'dest.tar');
    if (existing) await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    return { work, file, before: snapshot(work) };
  }

  for (const existing of [false, true]) {
    const what = existing ? 'rewriting an archive' : 'writing a new archive';

    it(`${what}: an already aborted signal`, async () => {
      const { work, file, before } = await setup(existing);
      const controller = new AbortController();
      controller.abort();
      await expectAborted(withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big', signal: controller.signal })));
      expect(snapshot(work)).toEqual(before);
    });

    it(`${what}: while waiting for the destination's lock`, async () => {
      const { work, file, before } = await setup(existing);
      const release = await acquireLock(file, `${file}.lock`, undefined);
      try {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 300);
        await expectAborted(withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big', signal: controller.signal })));
      } finally {
        await release();
      }
      expect(snapshot(work)).toEqual(before);
    });

    it(`${what}: while packing, in the middle of a blob`, async () => {
      const { work, file, before } = await setup(existing);
      const controller = new AbortController();
      const layer = big.blobs.findIndex((b) => b.size > MIB);
      // (The hooks count the cache's blobs only: an existing archive's own blobs come from its extraction.)
      const hooks: Hooks = { afterFirstChunk: (i) => i === layer && controller.abort() };
      await expectAborted(withSource((s) => writeOciArchive(file, toWrite(big), hooked(s, hooks), { tag: 'big', signal: controller.signal })));
      expect(snapshot(work)).toEqual(before);
    });

    it(`${what}: while packing, between two blobs`, async () => {
      const { work, file, before } = await setup(existing);
      const controller = new AbortController();
      await expectAborted(
        withSource((s) => writeOciArchive(file, toWrite(big), hooked(s, { beforeBlob: (i) => i === 2 && controller.abort() }), { tag: 'big', signal: controller.signal })),
      );
      expect(snapshot(work)).toEqual(before);
    });

    it(`${what}: once the last blob has been read, while the pack is flushed`, async () => {
      const { work, file, before } = await setup(existing);
      const controller = new AbortController();
      const last = big.blobs.length - 1;
      await expectAborted(
        withSource((s) => writeOciArchive(file, toWrite(big), hooked(s, { afterLastChunk: (i) => i === last && controller.abort() }), { tag: 'big', signal: controller.signal })),
      );
      expect(snapshot(work)).toEqual(before);
    });

    it(`${what}: after the pack, before the rename (while the new archive is flushed to disk)`, async () => {
      const { work, file, before } = await setup(existing);
      const controller = new AbortController();
      abortOnOpenForSync(controller, (p) => path.dirname(p) === work && path.basename(p).startsWith('.dest.tar.') && p.endsWith('.mote-tmp'));
      await expectAborted(withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big', signal: controller.signal })));
      expect(snapshot(work)).toEqual(before);
    });
  }

  it('rewriting an archive: while its blobs are being extracted', async () => {
    // The existing archive holds the big image; the abort lands as its first blob starts being written out.
    const work = workDir('abort-extract');
    const file = path.join(work, 'dest.tar');
    await withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big' }));
    const before = snapshot(work);
    const controller = new AbortController();
    const real = fs.createWriteStream;
    let extracting = 0;
    vi.spyOn(fs, 'createWriteStream').mockImplementation(((p: fs.PathLike, o?: unknown) => {
      if (String(p).includes('.mote-extract') && ++extracting === 2) controller.abort();
      return real(p, o as Parameters<typeof real>[1]);
    }) as typeof fs.createWriteStream);
    await expectAborted(withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small', signal: controller.signal })));
    expect(extracting).toBe(2);
    expect(snapshot(work)).toEqual(before);
  });

  it('an interrupted write does not stop the next one: it writes a complete archive skopeo reads', async () => {
    const { work, file } = await setup(true);
    const controller = new AbortController();
    await expectAborted(
      withSource((s) => writeOciArchive(file, toWrite(big), hooked(s, { beforeBlob: (i) => i === 1 && controller.abort() }), { tag: 'big', signal: controller.signal })),
    );
    await withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big' }));
    expect(leftovers(work)).toEqual([]);
    const into = workDir('extract');
    const read = await readOciArchive(file, into);
    expect(read.index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(['small', 'big']);
    if (HAVE_SKOPEO) expect(sha256(execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}:big`]))).toBe(big.digest);
  });
});

describe('oci: an abort at any moment leaves the layout as it was and nothing beside it', () => {
  for (const existing of [false, true]) {
    const what = existing ? 'adding to a layout' : 'writing a new layout';
    async function setup(): Promise<{ work: string; dir: string; before: Record<string, string> }> {
      const work = workDir('abort-layout');
      const dir = path.join(work, 'layout');
      if (existing) await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
      return { work, dir, before: snapshot(work) };
    }

    for (const placement of ['link', 'copy'] as const) {
      it(`${what} (${placement}): between two blobs`, async () => {
        const { work, dir, before } = await setup();
        const controller = new AbortController();
        await expectAborted(
          withSource((s) => writeOciLayout(dir, toWrite(big), hooked(s, { beforeBlob: (i) => i === 2 && controller.abort() }), { tag: 'big', signal: controller.signal }), placement),
        );
        expect(snapshot(work)).toEqual(before);
      });
    }

    it(`${what}: after the blobs, before index.json`, async () => {
      const { work, dir, before } = await setup();
      const controller = new AbortController();
      // The blob directory is flushed once every blob is in: the moment to abort.
      abortOnOpenForSync(controller, (p) => p.endsWith(`${path.sep}blobs${path.sep}sha256`));
      await expectAborted(withSource((s) => writeOciLayout(dir, toWrite(big), s, { tag: 'big', signal: controller.signal })));
      expect(snapshot(work)).toEqual(before);
    });

    if (existing) it(`${what}: while an existing blob is being verified`, async () => {
      const { work, dir } = await setup();
      // A copy (not the cache's inode) of a big blob the image needs is there: it gets hashed, and the abort lands then.
      const layer = big.blobs.find((b) => b.size > MIB)!;
      fs.copyFileSync(path.join(cacheRoot, 'blobs', 'sha256', layer.digest.slice(7)), blobFile(dir, layer.digest));
      const before = snapshot(work);
      const controller = new AbortController();
      const real = fs.promises.open;
      vi.spyOn(fs.promises, 'open').mockImplementation(((p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        if (String(p) === blobFile(dir, layer.digest)) controller.abort();
        return real(p, flags, mode);
      }) as typeof fs.promises.open);
      await expectAborted(withSource((s) => writeOciLayout(dir, toWrite(big), s, { tag: 'big', signal: controller.signal }), 'copy'));
      expect(snapshot(work)).toEqual(before);
    });
  }
});

describe('oci: an abort in a layout that had no blobs yet', () => {
  it('removes the blobs directories it created, too', async () => {
    const work = workDir('abort-bare');
    const dir = path.join(work, 'layout');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    fs.writeFileSync(path.join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    const before = snapshot(work);
    const controller = new AbortController();
    await expectAborted(
      withSource((s) => writeOciLayout(dir, toWrite(big), hooked(s, { beforeBlob: (i) => i === 1 && controller.abort() }), { tag: 'big', signal: controller.signal })),
    );
    expect(snapshot(work)).toEqual(before);
    await withSource((s) => writeOciLayout(dir, toWrite(big), s, { tag: 'big' }));
    expect((await readLayoutIndex(dir)).manifests.map((m) => m.digest)).toEqual([big.digest]);
  });
});

describe('existing oci: layouts are not trusted', () => {
  async function layoutOf(img: BuiltImage, tag: string, placement: 'link' | 'copy' = 'copy'): Promise<{ work: string; dir: string }> {
    const work = workDir('trust');
    const dir = path.join(work, 'layout');
    await withSource((s) => writeOciLayout(dir, toWrite(img), s, { tag }), placement);
    return { work, dir };
  }

  function expectWhole(dir: string, img: BuiltImage): void {
    for (const b of img.blobs) {
      const p = blobFile(dir, b.digest);
      expect(fs.lstatSync(p).isFile(), b.digest).toBe(true);
      expect(sha256(fs.readFileSync(p)), b.digest).toBe(b.digest);
    }
    expect(leftovers(path.dirname(dir))).toEqual([]);
  }

  function unpacks(dir: string, tag: string): void {
    if (!HAVE_UMOCI) return;
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:${tag}`, fresh('bundle')], { stdio: 'pipe' });
  }

  for (const placement of ['link', 'copy'] as const) {
    it(`a blob of the right size but the wrong bytes is replaced by the right ones (${placement})`, async () => {
      const { dir } = await layoutOf(small, 'small', 'copy');
      const layer = small.manifests[0]!.layers[0]!;
      const p = blobFile(dir, layer.digest);
      fs.chmodSync(p, 0o644);
      fs.writeFileSync(p, Buffer.alloc(layer.size, 7));
      await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }), placement);
      expectWhole(dir, small);
      unpacks(dir, 'small');
    });
  }

  it('right blobs that are copies are verified and kept as they are (not rewritten)', async () => {
    const { dir } = await layoutOf(small, 'small', 'copy');
    const inodes = small.blobs.map((b) => fs.statSync(blobFile(dir, b.digest)).ino);
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'again' }), 'link');
    expect(small.blobs.map((b) => fs.statSync(blobFile(dir, b.digest)).ino)).toEqual(inodes);
    expect((await readLayoutIndex(dir)).manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).sort()).toEqual(['again', 'small']);
  });

  it('blobs hard-linked from the cache are kept without being read (the same inode is what placing them would give)', async () => {
    const { dir } = await layoutOf(small, 'small', 'link');
    const real = fs.promises.open;
    const opened: string[] = [];
    vi.spyOn(fs.promises, 'open').mockImplementation(((p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      opened.push(String(p));
      return real(p, flags, mode);
    }) as typeof fs.promises.open);
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'again' }));
    expect(opened.filter((p) => p.includes(`${path.sep}blobs${path.sep}sha256${path.sep}`) && !p.includes('.mote-tmp'))).toEqual([]);
    expectWhole(dir, small);
  });

  it('a symbolic link at a blob path is replaced by the blob, never followed: its target is untouched', async () => {
    const { work, dir } = await layoutOf(small, 'small');
    const outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    const [l0, l1] = small.manifests[0]!.layers as [BuiltImage['blobs'][number], BuiltImage['blobs'][number]];
    // One link to a file of the wrong bytes (right size), one to a file of the right bytes, one dangling.
    fs.writeFileSync(path.join(outside, 'wrong'), Buffer.alloc(l0.size, 1));
    fs.copyFileSync(path.join(cacheRoot, 'blobs', 'sha256', l1.digest.slice(7)), path.join(outside, 'right'));
    for (const [b, target] of [
      [l0, path.join(outside, 'wrong')],
      [l1, path.join(outside, 'right')],
      [small.manifests[0]!.config, path.join(outside, 'missing')],
    ] as const) {
      fs.rmSync(blobFile(dir, b.digest));
      fs.symlinkSync(target, blobFile(dir, b.digest));
    }
    const outsideBefore = snapshot(outside);
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
    expectWhole(dir, small);
    expect(snapshot(outside)).toEqual(outsideBefore);
    unpacks(dir, 'small');
  });

  it('a FIFO at a blob path is replaced, without opening it (no hang)', async () => {
    const { dir } = await layoutOf(small, 'small');
    const layer = small.manifests[0]!.layers[1]!;
    fs.rmSync(blobFile(dir, layer.digest));
    execFileSync('mkfifo', [blobFile(dir, layer.digest)]);
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
    expectWhole(dir, small);
  });

  const refused: Array<[string, (dir: string, outside: string) => void]> = [
    [
      'blobs/sha256 is a symbolic link to a directory outside',
      (dir, outside) => {
        fs.renameSync(path.join(dir, 'blobs', 'sha256'), path.join(outside, 'sha256'));
        fs.symlinkSync(path.join(outside, 'sha256'), path.join(dir, 'blobs', 'sha256'));
      },
    ],
    [
      'blobs/sha256 is a symbolic link to an empty directory outside',
      (dir, outside) => {
        fs.rmSync(path.join(dir, 'blobs', 'sha256'), { recursive: true, force: true });
        fs.mkdirSync(path.join(outside, 'empty'));
        fs.symlinkSync(path.join(outside, 'empty'), path.join(dir, 'blobs', 'sha256'));
      },
    ],
    [
      'blobs is a symbolic link',
      (dir, outside) => {
        fs.renameSync(path.join(dir, 'blobs'), path.join(outside, 'blobs'));
        fs.symlinkSync(path.join(outside, 'blobs'), path.join(dir, 'blobs'));
      },
    ],
    ['blobs/sha512 is a symbolic link (an algorithm the image does not use)', (dir, outside) => fs.symlinkSync(outside, path.join(dir, 'blobs', 'sha512'))],
    ['blobs is a file', (dir) => {
      fs.rmSync(path.join(dir, 'blobs'), { recursive: true, force: true });
      fs.writeFileSync(path.join(dir, 'blobs'), 'x');
    }],
    [
      'index.json is a symbolic link',
      (dir, outside) => {
        fs.renameSync(path.join(dir, 'index.json'), path.join(outside, 'index.json'));
        fs.symlinkSync(path.join(outside, 'index.json'), path.join(dir, 'index.json'));
      },
    ],
    [
      'oci-layout is a symbolic link',
      (dir, outside) => {
        fs.renameSync(path.join(dir, 'oci-layout'), path.join(outside, 'oci-layout'));
        fs.symlinkSync(path.join(outside, 'oci-layout'), path.join(dir, 'oci-layout'));
      },
    ],
    ['index.json is a directory', (dir) => {
      fs.rmSync(path.join(dir, 'index.json'));
      fs.mkdirSync(path.join(dir, 'index.json'));
    }],
    ['a blob the image needs is a directory', (dir) => {
      const d = other.manifests[0]!.layers[0]!.digest;
      fs.mkdirSync(blobFile(dir, d));
      fs.writeFileSync(path.join(blobFile(dir, d), 'keep'), 'x');
    }],
  ];

  it.each(refused)('refused with InvalidDestinationError, nothing written inside or outside: %s', async (_what, damage) => {
    const { work, dir } = await layoutOf(small, 'small');
    const outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    damage(dir, outside);
    const before = snapshot(work);
    const err = await failureOf(withSource((s) => writeOciLayout(dir, toWrite(other), s, { tag: 'other' })));
    expect(err).toBeInstanceOf(InvalidDestinationError);
    expect((err as InvalidDestinationError).destination).toBe(dir);
    expect(snapshot(work)).toEqual(before);
  });
});

// ---- hand-made tar archives ----

type TarType = '0' | '1' | '2' | '5' | 'x' | 'V' | 'S';
interface RawEntry {
  name: string;
  type?: TarType;
  data?: Buffer;
  linkname?: string;
  mode?: number;
  mtime?: number;
}

function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const size = e.data?.length ?? 0;
  h.write(e.name, 0, 100, 'utf8');
  h.write(`${(e.mode ?? (e.type === '5' ? 0o755 : 0o644)).toString(8).padStart(7, '0')}\0`, 100, 'ascii');
  h.write('0001750\0', 108, 'ascii');
  h.write('0001750\0', 116, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write((e.mtime ?? 0).toString(8).padStart(11, '0') + '\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type ?? '0', 156, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write('someone', 265, 'utf8');
  h.write('staff', 297, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function tar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.data && e.data.length > 0) parts.push(e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A pax extended header entry carrying `records` for the entry after it. */
function pax(records: Record<string, string>): RawEntry {
  let body = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    body += `${len}${rest}`;
  }
  return { name: 'PaxHeader', type: 'x', data: Buffer.from(body) };
}

function validArchive(tag = 'base'): { entries: RawEntry[]; digest: string } {
  const blob = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: {}, layers: [] }));
  const digest = sha256(blob);
  const index = { schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest, size: blob.length, annotations: { [REF_NAME_ANNOTATION]: tag } }] };
  return {
    digest,
    entries: [
      { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
      { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
      { name: 'blobs/', type: '5' },
      { name: 'blobs/sha256/', type: '5' },
      { name: `blobs/sha256/${digest.slice(7)}`, data: blob },
    ],
  };
}

/** Every entry of a tar, as tar-stream reads it: header fields that matter, and content. */
async function entriesOf(file: string): Promise<Array<{ name: string; type: string; mode: number; mtime: number; linkname: string | null; uname: string; data: string; pax?: Record<string, string> }>> {
  const tarStream = await import('tar-stream');
  const extract = tarStream.extract();
  fs.createReadStream(file).pipe(extract);
  const out = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    const p = h.pax as Record<string, string> | undefined;
    out.push({
      name: h.name,
      type: h.type,
      mode: h.mode,
      mtime: h.mtime.getTime(),
      linkname: h.linkname ?? null,
      uname: h.uname,
      data: Buffer.concat(chunks).toString('utf8'),
      ...(p && { pax: p }),
    });
  }
  return out;
}

describe('existing oci-archive files', () => {
  it('a truncated archive, cut anywhere, is an InvalidDestinationError naming it; the file is untouched', async () => {
    const work = workDir('truncated');
    const whole = path.join(work, 'whole.tar');
    await withSource((s) => writeOciArchive(whole, toWrite(small), s, { tag: 'small' }));
    const bytes = fs.readFileSync(whole);
    fs.rmSync(whole);
    // Inside the first header, inside the index, on block boundaries, inside a layer, in the end-of-archive blocks.
    const cuts = [1, 100, 511, 512, 700, 1024, 1536, 4096, 50_000, 150_000, bytes.length - 2000, bytes.length - 1024, bytes.length - 512, bytes.length - 1];
    for (const cut of cuts) {
      const file = path.join(work, `cut-${cut}.tar`);
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const before = snapshot(work);
      const err = await withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (cut === bytes.length - 1024 || cut === bytes.length - 512) {
        // Every entry whole, only (some of) the end-of-archive blocks missing: read as complete (as GNU tar does).
        expect(err, `cut at ${cut}`).toBeUndefined();
        continue;
      }
      expect(err, `cut at ${cut}`).toBeInstanceOf(InvalidDestinationError);
      expect((err as InvalidDestinationError).destination, `cut at ${cut}`).toBe(file);
      expect((err as Error).message).toContain(file);
      expect(snapshot(work), `cut at ${cut}`).toEqual(before);
    }
  });

  const notTar: Array<[string, Buffer]> = [
    ['text', Buffer.from('hello, this is not a tar archive at all\n'.repeat(40))],
    ['gzip', execFileSync('gzip', ['-c'], { input: tar(validArchive().entries) })],
    ['random bytes', crypto.randomBytes(4096)],
    ['a tar with no layout in it', tar([{ name: 'hello.txt', data: Buffer.from('hi') }])],
    ['an empty tar (end blocks only)', Buffer.alloc(1024)],
  ];

  it.each(notTar)('a file that is no OCI archive (%s) is an InvalidDestinationError naming it; untouched', async (_what, bytes) => {
    const work = workDir('not-tar');
    const file = path.join(work, 'dest.tar');
    fs.writeFileSync(file, bytes);
    const err = await failureOf(withSource((s) => writeOciArchive(file, toWrite(other), s)));
    expect(err).toBeInstanceOf(InvalidDestinationError);
    expect((err as InvalidDestinationError).destination).toBe(file);
    expect(fs.readFileSync(file)).toEqual(bytes);
    expect(fs.readdirSync(work)).toEqual(['dest.tar']);
  });

  it('a symbolic link as the archive is refused; its target is untouched', async () => {
    const work = workDir('archive-link');
    const target = path.join(work, 'real.tar');
    fs.writeFileSync(target, tar(validArchive().entries));
    fs.symlinkSync(target, path.join(work, 'dest.tar'));
    const before = snapshot(work);
    await expect(withSource((s) => writeOciArchive(path.join(work, 'dest.tar'), toWrite(other), s))).rejects.toBeInstanceOf(InvalidDestinationError);
    expect(snapshot(work)).toEqual(before);
  });

  it('a blob repeated in the archive with other bytes is refused (its content is checked each time)', async () => {
    const work = workDir('repeat');
    const file = path.join(work, 'dest.tar');
    const { entries, digest } = validArchive();
    fs.writeFileSync(file, tar([...entries, { name: `blobs/sha256/${digest.slice(7)}`, data: Buffer.from('other bytes') }]));
    const before = snapshot(work);
    await expect(withSource((s) => writeOciArchive(file, toWrite(other), s))).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
    expect(snapshot(work)).toEqual(before);
  });

  it.each([
    ['an entry under a layout file (index.json/x)', { name: 'index.json/x', data: Buffer.from('x') }],
    ['an entry of a type tar-stream does not know (a volume label)', { name: 'my volume', type: 'V' }],
    ['a GNU sparse file (its bytes are not the file\'s)', { name: 'sparse.bin', type: 'S', data: Buffer.alloc(512, 1) }],
  ] as Array<[string, RawEntry]>)('%s is refused as unsafe', async (_what, entry) => {
    const work = workDir('odd-entry');
    const file = path.join(work, 'dest.tar');
    const bytes = tar([...validArchive().entries, entry]);
    fs.writeFileSync(file, bytes);
    await expect(withSource((s) => writeOciArchive(file, toWrite(other), s))).rejects.toBeInstanceOf(UnsafeArchiveError);
    expect(fs.readdirSync(work)).toEqual(['dest.tar']);
    expect(fs.readFileSync(file)).toEqual(bytes);
  });

  it("keeps the archive's other entries as they were: files, directories, links, long names, modes, times, owners, pax records", async () => {
    const work = workDir('extras');
    const file = path.join(work, 'dest.tar');
    const longName = `docs/${'d'.repeat(60)}/${'n'.repeat(80)}.txt`;
    const { entries, digest } = validArchive('base');
    const extras: RawEntry[] = [
      { name: 'README.md', data: Buffer.from('# my images\n'), mode: 0o640, mtime: 1_600_000_000 },
      { name: 'docs/', type: '5', mode: 0o750, mtime: 1_600_000_001 },
      { name: 'docs/notes.txt', data: Buffer.from('notes\n'.repeat(300)), mtime: 1_600_000_002 },
      { name: 'run.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
      { name: 'latest', type: '2', linkname: 'docs/notes.txt' },
      { name: 'notes-again.txt', type: '1', linkname: 'docs/notes.txt' },
      { name: 'empty.txt', data: Buffer.alloc(0) },
      pax({ path: longName, 'SCHILY.xattr.user.origin': 'test', comment: 'kept = verbatim' }),
      { name: 'PaxHeader/long', data: Buffer.from('a file with a long name\n') },
      { name: './dot-slash.txt', data: Buffer.from('spelled with ./\n') },
    ];
    fs.writeFileSync(file, tar([...entries.slice(0, 2), extras[0]!, ...entries.slice(2), ...extras.slice(1)]));
    const original = (await entriesOf(file)).filter((e) => !/^(oci-layout|index\.json|blobs)(\/|$)/.test(e.name));

    await withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' }));
    const rewritten = await entriesOf(file);
    const kept = rewritten.filter((e) => !/^(oci-layout|index\.json|blobs)(\/|$)/.test(e.name));
    const comparable = (list: typeof kept) => list.map(({ pax: p, ...rest }) => ({ ...rest, pax: p && Object.fromEntries(Object.entries(p).filter(([k]) => k !== 'path')) }));
    expect(comparable(kept)).toEqual(comparable(original));
    expect(kept.find((e) => e.name === longName)?.pax).toMatchObject({ 'SCHILY.xattr.user.origin': 'test', comment: 'kept = verbatim' });
    // The layout is there, both images, the old blob too.
    const into = workDir('extract');
    const read = await readOciArchive(file, into);
    expect(read.index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(['base', 'other']);
    expect(read.blobs.has(digest)).toBe(true);
    expect(read.extras.map((e) => e.header.name)).toEqual(original.map((e) => e.name));
    // Once more: still the same entries (nothing doubled, nothing lost).
    await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    expect(comparable((await entriesOf(file)).filter((e) => !/^(oci-layout|index\.json|blobs)(\/|$)/.test(e.name)))).toEqual(comparable(original));
    if (HAVE_TAR) {
      // GNU tar lists and extracts it (links, long name and all).
      const out = workDir('untar');
      execFileSync('tar', ['-xf', file, '-C', out]);
      expect(fs.readFileSync(path.join(out, longName), 'utf8')).toBe('a file with a long name\n');
      expect(fs.readlinkSync(path.join(out, 'latest'))).toBe('docs/notes.txt');
      expect(fs.statSync(path.join(out, 'notes-again.txt')).ino).toBe(fs.statSync(path.join(out, 'docs/notes.txt')).ino);
      expect(fs.statSync(path.join(out, 'run.sh')).mode & 0o777).toBe(0o755);
    }
    if (HAVE_SKOPEO) expect(sha256(execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}:other`]))).toBe(other.digest);
  });
});

describe('leftovers of writers that died are removed by the next write', () => {
  let sleeper: ReturnType<typeof spawn> | undefined;
  afterAll(() => {
    sleeper?.kill('SIGKILL');
  });
  /** A running process that is not us (its temporaries must be kept). */
  function livePid(): number {
    sleeper ??= spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
    return sleeper.pid!;
  }
  const rand = (): string => crypto.randomBytes(6).toString('hex');

  it('beside an archive: dead writers\' temporaries (files and extraction directories) go, a live writer\'s and others\' stay', async () => {
    const work = workDir('sweep-archive');
    const file = path.join(work, 'dest.tar');
    await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    const dead = deadPid();
    const gone = [`.dest.tar.${dead}-${rand()}.mote-tmp`, `.dest.tar.${dead}-${rand()}.mote-extract`, `.dest.tar.${rand()}.mote-tmp`];
    const stay = [`.dest.tar.${livePid()}-${rand()}.mote-tmp`, `.dest.tar.${rand()}.mote-extract`, `.other.tar.${dead}-${rand()}.mote-tmp`, 'dest.tar.notes'];
    for (const name of [...gone, ...stay]) {
      if (name.endsWith('.mote-extract')) {
        fs.mkdirSync(path.join(work, name, 'blobs', 'sha256'), { recursive: true });
        fs.writeFileSync(path.join(work, name, 'blobs', 'sha256', 'x'), 'partial');
      } else fs.writeFileSync(path.join(work, name), 'partial');
    }
    // The pid-less (older) form goes once nothing has touched it for a long while.
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(path.join(work, gone[2]!), old, old);
    await withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' }));
    expect(fs.readdirSync(work).sort()).toEqual(['dest.tar', ...stay].sort());
  });

  it('beside and inside a layout: dead writers\' layout directories, blob and index temporaries go, a live writer\'s stay', async () => {
    const work = workDir('sweep-layout');
    const dir = path.join(work, 'layout');
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
    const dead = deadPid();
    const live = livePid();
    const hex = other.blobs[0]!.digest.slice(7);
    const gone = [
      path.join(work, `.layout.${dead}-${rand()}.mote-tmp`),
      path.join(dir, `.index.json.${dead}-${rand()}.mote-tmp`),
      path.join(dir, 'blobs', 'sha256', `.${hex}.${dead}-${rand()}.mote-tmp`),
    ];
    const stay = [
      path.join(work, `.layout.${live}-${rand()}.mote-tmp`),
      path.join(dir, `.index.json.${live}-${rand()}.mote-tmp`),
      path.join(dir, 'blobs', 'sha256', `.${hex}.${live}-${rand()}.mote-tmp`),
      path.join(dir, 'blobs', 'sha256', '.not-ours'),
    ];
    fs.mkdirSync(gone[0]!);
    fs.writeFileSync(path.join(gone[0]!, 'oci-layout'), 'partial');
    for (const p of [...gone.slice(1), ...stay]) fs.writeFileSync(p, 'partial');
    await withSource((s) => writeOciLayout(dir, toWrite(other), s, { tag: 'other' }));
    for (const p of gone) expect(fs.existsSync(p), p).toBe(false);
    for (const p of stay) expect(fs.existsSync(p), p).toBe(true);
  });
});

describe('disk full: destinations on a 6 MiB tmpfs, the cache elsewhere', () => {
  let fsys: Tmpfs;
  beforeAll(() => {
    fsys = mountTmpfs(fresh('mnt'), '6m');
    if (!fsys.mounted) console.warn(`disk-full destination tests SKIPPED: ${fsys.reason}`);
  });
  afterAll(() => fsys?.unmount());
  afterEach(() => {
    if (fsys?.mounted) for (const f of fs.readdirSync(fsys.dir)) fs.rmSync(path.join(fsys.dir, f), { recursive: true, force: true });
  });
  function skipUnlessMounted(ctx: TestContext): void {
    if (!fsys.mounted) ctx.skip();
  }
  /** A file taking all but `leave` bytes of the tmpfs. */
  function fill(leave: number): void {
    const size = Math.max(0, fsys.free() - leave);
    const fd = fs.openSync(path.join(fsys.dir, 'filler'), 'w');
    try {
      const chunk = Buffer.alloc(MIB);
      for (let left = size; left > 0; left -= chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
  }
  async function expectNoSpace(p: Promise<unknown>, where: string): Promise<void> {
    const err = await failureOf(p);
    expect(err).toBeInstanceOf(NoSpaceError);
    expect((err as NoSpaceError).code).toBe('ERR_MOTE_NO_SPACE');
    expect((err as NoSpaceError).path).toBe(where);
  }

  it('a new archive that does not fit: NoSpaceError, no archive, no temporary, the space given back', async (ctx) => {
    skipUnlessMounted(ctx);
    const free = fsys.free();
    const file = path.join(fsys.dir, 'big.tar');
    await expectNoSpace(withSource((s) => writeOciArchive(file, toWrite(big), s, { tag: 'big' })), file);
    expect(fs.readdirSync(fsys.dir)).toEqual([]);
    expect(fsys.free()).toBe(free);
  });

  it('rewriting an archive whose extraction does not fit: NoSpaceError, the archive as it was', async (ctx) => {
    skipUnlessMounted(ctx);
    const file = path.join(fsys.dir, 'dest.tar');
    await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    fill(100_000); // less than the archive's layer: extracting it fails
    const before = snapshot(fsys.dir);
    const free = fsys.free();
    await expectNoSpace(withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' })), file);
    expect(snapshot(fsys.dir)).toEqual(before);
    expect(fsys.free()).toBe(free);
  });

  it('rewriting an archive: extracted, but the new archive does not fit: NoSpaceError, the archive as it was', async (ctx) => {
    skipUnlessMounted(ctx);
    const file = path.join(fsys.dir, 'dest.tar');
    await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    fill(small.totalBytes + 40_000); // room to extract the archive, not for the new one (small + other) too
    const before = snapshot(fsys.dir);
    const free = fsys.free();
    await expectNoSpace(withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' })), file);
    expect(snapshot(fsys.dir)).toEqual(before);
    expect(fsys.free()).toBe(free);
  });

  for (const placement of ['link', 'copy'] as const) {
    it(`a new layout that does not fit (${placement}: the cache is elsewhere, so copied): NoSpaceError, nothing left`, async (ctx) => {
      skipUnlessMounted(ctx);
      const free = fsys.free();
      const dir = path.join(fsys.dir, 'layout');
      await expectNoSpace(withSource((s) => writeOciLayout(dir, toWrite(big), s, { tag: 'big' }), placement), dir);
      expect(fs.readdirSync(fsys.dir)).toEqual([]);
      expect(fsys.free()).toBe(free);
    });
  }

  it('adding to a layout when the blobs do not fit: NoSpaceError, the layout as it was', async (ctx) => {
    skipUnlessMounted(ctx);
    const dir = path.join(fsys.dir, 'layout');
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
    const before = snapshot(fsys.dir);
    const free = fsys.free();
    await expectNoSpace(withSource((s) => writeOciLayout(dir, toWrite(big), s, { tag: 'big' })), dir);
    expect(snapshot(fsys.dir)).toEqual(before);
    expect(fsys.free()).toBe(free);
  });

  it('on a completely full disk: NoSpaceError for both kinds, nothing changed; once there is room, both work', async (ctx) => {
    skipUnlessMounted(ctx);
    const dir = path.join(fsys.dir, 'layout');
    const file = path.join(fsys.dir, 'dest.tar');
    await withSource((s) => writeOciLayout(dir, toWrite(small), s, { tag: 'small' }));
    await withSource((s) => writeOciArchive(file, toWrite(small), s, { tag: 'small' }));
    fill(0);
    expect(fsys.free()).toBe(0);
    const before = snapshot(fsys.dir);
    await expectNoSpace(withSource((s) => writeOciLayout(dir, toWrite(other), s, { tag: 'other' })), dir);
    await expectNoSpace(withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' })), file);
    await expectNoSpace(withSource((s) => writeOciArchive(path.join(fsys.dir, 'new.tar'), toWrite(other), s)), path.join(fsys.dir, 'new.tar'));
    expect(snapshot(fsys.dir)).toEqual(before);
    fs.rmSync(path.join(fsys.dir, 'filler'));
    await withSource((s) => writeOciLayout(dir, toWrite(other), s, { tag: 'other' }));
    await withSource((s) => writeOciArchive(file, toWrite(other), s, { tag: 'other' }));
    expect(leftovers(fsys.dir)).toEqual([]);
    if (HAVE_SKOPEO) expect(sha256(execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}:other`]))).toBe(other.digest);
    if (HAVE_UMOCI) execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:other`, fresh('bundle')], { stdio: 'pipe' });
  });
});
