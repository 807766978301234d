/**
 * Destination writers without a registry: OCI layouts and archives written from a local FileMoteCache (checked
 * with umoci and skopeo), existing ones added to, and hostile archives refused without writing anything.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMoteCache } from '../../src/store/file-cache.js';
import { readOciArchive, safeEntryPath, writeOciArchive } from '../../src/pull/destination/oci-archive.js';
import { InvalidDestinationError, UnsafeArchiveError } from '../../src/pull/errors.js';
import { cacheBlobSource, type ImageToWrite } from '../../src/pull/destination/blob-source.js';
import { REF_NAME_ANNOTATION } from '../../src/oci/image-layout.js';
import { readLayoutIndex, writeOciLayout } from '../../src/pull/destination/oci-dir.js';
import { MediaType } from '../../src/oci/media-types.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { which } from '../helpers/net.js';
import { makeTempDir } from '../helpers/tmp.js';

const HAVE_UMOCI = which('umoci') !== undefined;
const HAVE_SKOPEO = which('skopeo') !== undefined;

const { dir: scratch, cleanup } = makeTempDir('motecache-archive-');
afterAll(cleanup);
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);

const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

// ---- hand-made tar archives (tar-stream would normalise some of what these tests need to be hostile) ----

type TarType = '0' | '1' | '2' | '3' | '5' | '6';
interface RawEntry {
  name: string;
  type?: TarType;
  data?: Buffer;
  linkname?: string;
}

function header(e: RawEntry): Buffer {
  const h = Buffer.alloc(512);
  const size = e.data?.length ?? 0;
  h.write(e.name, 0, 100, 'utf8');
  h.write(e.type === '5' ? '0000755\0' : '0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(e.type ?? '0', 156, 'ascii');
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

function tar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.data && e.data.length > 0) {
      parts.push(e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A minimal but valid OCI archive's entries: one blob, an index pointing at it under `tag`. */
function validEntries(tag = 'base'): { entries: RawEntry[]; blob: Buffer; digest: string } {
  const blob = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: {}, layers: [] }));
  const digest = sha256(blob);
  const index = { schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest, size: blob.length, annotations: { [REF_NAME_ANNOTATION]: tag } }] };
  return {
    blob,
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

/** Every file and directory under `dir`, relative. */
function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

// ---- a real image in a local store ----

let image: BuiltImage;
let second: BuiltImage;
let cacheRoot: string;

beforeAll(async () => {
  const layout = fresh('src-layout');
  image = await makeImage(layout, { tag: 'one', layers: [{ size: 300_000 }, { size: 20_000 }] });
  second = await makeImage(layout, { tag: 'two', layers: [{ size: 50_000, seed: 'other' }, { size: 20_000, seed: 'one#1' }] });
  cacheRoot = fresh('cache');
  const cache = new FileMoteCache(cacheRoot, { durable: false });
  for (const b of [...image.blobs, ...second.blobs]) {
    await cache.put(fs.readFileSync(path.join(layout, 'blobs', 'sha256', b.digest.slice(7))), { digest: b.digest, mediaType: b.mediaType });
  }
  await cache.close();
}, 60_000);

const toWrite = (img: BuiltImage): ImageToWrite => ({
  entry: { mediaType: img.mediaType, digest: img.digest, size: img.size },
  blobs: img.blobs,
});

function withCache<T>(fn: (cache: FileMoteCache) => Promise<T>): Promise<T> {
  const cache = new FileMoteCache(cacheRoot, { durable: false });
  return fn(cache).finally(() => cache.close());
}

describe('safeEntryPath', () => {
  it('normalises harmless names and refuses escaping ones', () => {
    expect(safeEntryPath('a.tar', './blobs//sha256/x')).toBe('blobs/sha256/x');
    expect(safeEntryPath('a.tar', 'index.json')).toBe('index.json');
    expect(safeEntryPath('a.tar', './')).toBe('');
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'blobs/..', 'C:/x', 'a\\..\\x']) {
      expect(() => safeEntryPath('a.tar', bad), bad).toThrow(UnsafeArchiveError);
    }
  });

  // Found by test/properties/oci-archive.test.ts: `./C:__proto__` normalised to `C:__proto__`, which it refuses.
  it('refuses a drive path uncovered by normalising, as it refuses the same name given plainly', () => {
    for (const bad of ['./C:__proto__', './/C:/x', './c:']) expect(() => safeEntryPath('a.tar', bad), bad).toThrow(UnsafeArchiveError);
    expect(safeEntryPath('a.tar', './a/C:x')).toBe('a/C:x'); // not at the start: a plain name
  });
});

describe('writeOciLayout', () => {
  it('writes a layout umoci and skopeo accept, then adds a second image and keeps the first', async () => {
    const dir = fresh('layout');
    await withCache((cache) => writeOciLayout(dir, toWrite(image), cacheBlobSource(cache, 'copy'), { tag: 'one' }));
    let index = await readLayoutIndex(dir);
    expect(index.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]])).toEqual([[image.digest, 'one']]);
    for (const b of image.blobs) {
      const p = path.join(dir, 'blobs', 'sha256', b.digest.slice(7));
      expect(sha256(fs.readFileSync(p))).toBe(b.digest);
      // Placement 'copy': an independent file, not a hard link into the store (pull's default links; see pull/pull.test.ts).
      expect(fs.statSync(p).nlink).toBe(1);
    }

    await withCache((cache) => writeOciLayout(dir, toWrite(second), cacheBlobSource(cache), { tag: 'two' }));
    index = await readLayoutIndex(dir);
    expect(index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).sort()).toEqual(['one', 'two']);
    // No temporaries or lock left behind, inside or beside the layout.
    expect(listTree(dir).filter((f) => f.includes('mote-tmp'))).toEqual([]);
    expect(fs.readdirSync(path.dirname(dir)).filter((f) => f.includes(path.basename(dir)) && f !== path.basename(dir))).toEqual([]);

    if (HAVE_UMOCI) {
      const ls = execFileSync('umoci', ['ls', '--layout', dir], { encoding: 'utf8' });
      expect(ls.split('\n').filter(Boolean).sort()).toEqual(['one', 'two']);
      // --json: umoci 0.4's text output dereferences history[].created, which the test images leave out (a panic).
      const stat = JSON.parse(execFileSync('umoci', ['stat', '--json', '--image', `${dir}:one`], { encoding: 'utf8' })) as { history: unknown[] };
      expect(stat.history).toHaveLength(2);
      const bundle = fresh('bundle');
      execFileSync('umoci', ['unpack', '--rootless', '--image', `${dir}:two`, bundle]);
      expect(fs.statSync(path.join(bundle, 'rootfs', 'layer0', 'data.bin')).size).toBe(50_000);
    }
    if (HAVE_SKOPEO) {
      const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${dir}:one`]);
      expect(sha256(raw)).toBe(image.digest);
    }
  });

  it('replaces the entry of a tag pulled again', async () => {
    const dir = fresh('layout');
    await withCache((cache) => writeOciLayout(dir, toWrite(image), cacheBlobSource(cache), { tag: 'x' }));
    await withCache((cache) => writeOciLayout(dir, toWrite(second), cacheBlobSource(cache), { tag: 'x' }));
    const index = await readLayoutIndex(dir);
    expect(index.manifests.map((m) => m.digest)).toEqual([second.digest]);
  });

  it('refuses a non-empty directory that is not a layout, and a file, touching nothing', async () => {
    const dir = fresh('not-layout');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'precious'), 'x');
    await expect(withCache((cache) => writeOciLayout(dir, toWrite(image), cacheBlobSource(cache), { tag: 'x' }))).rejects.toThrow(InvalidDestinationError);
    expect(listTree(dir)).toEqual(['precious']);
    const file = fresh('file');
    fs.writeFileSync(file, 'x');
    await expect(withCache((cache) => writeOciLayout(file, toWrite(image), cacheBlobSource(cache)))).rejects.toThrow(InvalidDestinationError);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it('fills an existing empty directory', async () => {
    const dir = fresh('empty');
    fs.mkdirSync(dir);
    await withCache((cache) => writeOciLayout(dir, toWrite(image), cacheBlobSource(cache), { tag: 'one' }));
    expect((await readLayoutIndex(dir)).manifests).toHaveLength(1);
  });

  it('leaves an existing layout as it was when a blob cannot be had', async () => {
    const dir = fresh('layout');
    await withCache((cache) => writeOciLayout(dir, toWrite(image), cacheBlobSource(cache), { tag: 'one' }));
    const before = listTree(dir);
    const indexBefore = fs.readFileSync(path.join(dir, 'index.json'));
    const missing = { mediaType: MediaType.OciLayerTarGzip, digest: `sha256:${'e'.repeat(64)}`, size: 10 };
    const broken: ImageToWrite = { entry: toWrite(second).entry, blobs: [...second.blobs, missing] };
    await expect(withCache((cache) => writeOciLayout(dir, broken, cacheBlobSource(cache), { tag: 'two' }))).rejects.toThrow();
    expect(listTree(dir)).toEqual(before);
    expect(fs.readFileSync(path.join(dir, 'index.json'))).toEqual(indexBefore);
  });
});

describe('oci-archive', () => {
  it('writes an archive skopeo reads, and adding a second image keeps the first', async () => {
    const file = fresh('image.tar');
    await withCache((cache) => writeOciArchive(file, toWrite(image), cacheBlobSource(cache), { tag: 'one' }));
    await withCache((cache) => writeOciArchive(file, toWrite(second), cacheBlobSource(cache), { tag: 'two' }));

    const into = fresh('extract');
    fs.mkdirSync(into);
    const read = await readOciArchive(file, into);
    expect(read.index.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]])).toEqual([
      [image.digest, 'one'],
      [second.digest, 'two'],
    ]);
    const all = new Set([...image.blobs, ...second.blobs].map((b) => b.digest));
    expect(new Set(read.blobs.keys())).toEqual(all);
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(`.${path.basename(file)}`))).toEqual([]);

    if (HAVE_SKOPEO) {
      for (const [tag, img] of [['one', image], ['two', second]] as const) {
        const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}:${tag}`]);
        expect(sha256(raw)).toBe(img.digest);
      }
    }
  });

  it('reads an archive skopeo wrote', async () => {
    if (!HAVE_SKOPEO) return;
    const file = fresh('skopeo.tar');
    execFileSync('skopeo', ['--insecure-policy', 'copy', `oci:${image.layout}:one`, `oci-archive:${file}:one`]);
    const into = fresh('extract');
    fs.mkdirSync(into);
    const read = await readOciArchive(file, into);
    expect(read.index.manifests.some((m) => m.annotations?.[REF_NAME_ANNOTATION] === 'one')).toBe(true);
    expect(read.blobs.size).toBeGreaterThanOrEqual(image.blobs.length);
  });

  const hostile: [string, (base: RawEntry[]) => RawEntry[]][] = [
    ['a ../ path', (b) => [...b, { name: '../x', data: Buffer.from('escape') }]],
    ['an absolute path', (b) => [...b, { name: '/tmp/motecache-abs-escape', data: Buffer.from('escape') }]],
    ['a symlink to /etc', (b) => [...b, { name: 'etc', type: '2', linkname: '/etc' }]],
    ['a symlink climbing out', (b) => [...b, { name: 'dir/up', type: '2', linkname: '../../outside' }]],
    ['a hard link to ../../x', (b) => [...b, { name: 'hl', type: '1', linkname: '../../x' }]],
    ['a hard link to an absolute path', (b) => [...b, { name: 'hl', type: '1', linkname: '/etc/passwd' }]],
    ['a symlink under blobs/ (even pointing inside)', (b) => [...b, { name: `blobs/sha256/${'a'.repeat(64)}`, type: '2', linkname: 'other' }]],
    ['a hard link under blobs/', (b) => [...b, { name: `blobs/sha256/${'a'.repeat(64)}`, type: '1', linkname: 'index.json' }]],
    ['a symlinked index.json', (b) => [...b.filter((e) => e.name !== 'index.json'), { name: 'index.json', type: '2', linkname: 'x.json' }]],
    ['a device', (b) => [...b, { name: 'dev', type: '3' }]],
    ['a FIFO under blobs/', (b) => [...b, { name: 'blobs/sha256/fifo', type: '6' }]],
    ['a file under blobs/ that is not a digest', (b) => [...b, { name: 'blobs/sha256/not-a-digest', data: Buffer.from('x') }]],
    // The unsafe entry comes first here, before any blob: nothing at all may be written.
    ['a ../ path before everything', (b) => [{ name: 'a/../../x', data: Buffer.from('escape') }, ...b]],
  ];

  it.each(hostile)('refuses %s with ERR_UNSAFE_ARCHIVE, extracting and writing nothing', async (_what, make) => {
    const work = fresh('hostile');
    fs.mkdirSync(work);
    const file = path.join(work, 'dest.tar');
    const { entries } = validEntries();
    const bytes = tar(make(entries));
    fs.writeFileSync(file, bytes);

    // Reading alone: the typed error.
    const into = path.join(work, 'into');
    fs.mkdirSync(into);
    const err = await readOciArchive(file, into).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsafeArchiveError);
    expect((err as UnsafeArchiveError).code).toBe('ERR_UNSAFE_ARCHIVE');
    fs.rmSync(into, { recursive: true });

    // Adding an image to it: refused, the archive is byte for byte as it was, nothing else appeared anywhere.
    await expect(withCache((cache) => writeOciArchive(file, toWrite(image), cacheBlobSource(cache), { tag: 'one' }))).rejects.toBeInstanceOf(
      UnsafeArchiveError,
    );
    expect(fs.readFileSync(file)).toEqual(bytes);
    expect(listTree(work)).toEqual(['dest.tar']);
    expect(fs.existsSync(path.join(scratch, 'x'))).toBe(false);
    expect(fs.existsSync('/tmp/motecache-abs-escape')).toBe(false);
  });

  it('refuses an archive whose blob does not match its name, and one that is no OCI layout', async () => {
    const work = fresh('bad');
    fs.mkdirSync(work);
    const { entries, digest } = validEntries();
    const corrupt = entries.map((e) => (e.name.endsWith(digest.slice(7)) ? { ...e, data: Buffer.from('not the content') } : e));
    const file = path.join(work, 'corrupt.tar');
    fs.writeFileSync(file, tar(corrupt));
    await expect(withCache((cache) => writeOciArchive(file, toWrite(image), cacheBlobSource(cache)))).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_MOTE_DIGEST_MISMATCH' }),
    );
    const plain = path.join(work, 'plain.tar');
    fs.writeFileSync(plain, tar([{ name: 'hello.txt', data: Buffer.from('hi') }]));
    await expect(withCache((cache) => writeOciArchive(plain, toWrite(image), cacheBlobSource(cache)))).rejects.toThrow(InvalidDestinationError);
    expect(listTree(work)).toEqual(['corrupt.tar', 'plain.tar']);
  });

  // Found by test/properties/oci-archive.test.ts: tar-stream's own plain Errors came through untyped (mote exit 1).
  it('refuses a file that is no readable tar (garbage, cut short, a corrupt header) with ERR_INVALID_DESTINATION', async () => {
    const work = fresh('unreadable');
    fs.mkdirSync(work);
    const { entries, blob } = validEntries();
    const valid = tar(entries);
    const flipped = Buffer.from(valid);
    flipped[0]! ^= 1;
    const cases: [string, Buffer][] = [
      ['garbage.tar', Buffer.alloc(1024, 7)],
      ['short.tar', valid.subarray(0, 1024 + 100)], // cut inside the second entry's data
      ['header.tar', flipped], // the first header fails its checksum
      // Cut inside a blob being extracted: the entry's stream fails with streamx's STREAM_DESTROYED instead.
      ['blob-short.tar', valid.subarray(0, valid.indexOf(blob) + 10)],
    ];
    for (const [name, bytes] of cases) {
      const file = path.join(work, name);
      fs.writeFileSync(file, bytes);
      const into = path.join(work, 'into');
      fs.mkdirSync(into);
      await expect(readOciArchive(file, into), name).rejects.toThrow(expect.objectContaining({ code: 'ERR_INVALID_DESTINATION' }));
      fs.rmSync(into, { recursive: true });
      await expect(withCache((cache) => writeOciArchive(file, toWrite(image), cacheBlobSource(cache))), name).rejects.toBeInstanceOf(InvalidDestinationError);
      expect(fs.readFileSync(file)).toEqual(bytes);
    }
    expect(listTree(work)).toEqual(cases.map(([name]) => name).sort());
  });

  it('adds to a valid hand-made archive, keeping its blob and entry', async () => {
    const file = fresh('hand.tar');
    const { entries, digest } = validEntries('base');
    fs.writeFileSync(file, tar(entries));
    await withCache((cache) => writeOciArchive(file, toWrite(image), cacheBlobSource(cache), { tag: 'one' }));
    const into = fresh('extract');
    fs.mkdirSync(into);
    const read = await readOciArchive(file, into);
    expect(read.index.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(['base', 'one']);
    expect(read.blobs.has(digest)).toBe(true);
  });
});
