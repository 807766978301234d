/**
 * Builds real OCI image layouts to push to a real registry: layers are genuine tar archives (optionally gzip) holding
 * regular files of incompressible, seed-deterministic content, so `umoci unpack` and `skopeo` accept them and the
 * same spec always yields the same digests.
 *
 * Everything is streamed (generator → tar → sha256(diff_id) → gzip → sha256(digest) → file), never held in memory,
 * so a ~200 MiB image takes a few seconds; the layers of an image are built concurrently so zlib's thread pool
 * compresses them in parallel.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, Platform } from '../../src/oci/descriptor.js';

export interface LayerSpec {
  /** Bytes of file content in the layer (the blob is this plus tar framing, and gzip overhead when compressed). */
  size: number;
  /** Content is a function of the seed (and of the platform in a multi-platform image). Default: `TAG#INDEX`. */
  seed?: string;
}

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ImageSpec {
  tag: string;
  layers: LayerSpec[];
  /** When given, the image is an index with one manifest per platform (layers differ per platform). */
  platforms?: ImagePlatform[];
  /** gzip the layers (level 1). Default true. */
  compress?: boolean;
}

export interface BuiltManifest {
  digest: string;
  size: number;
  mediaType: string;
  platform?: Platform;
  config: Descriptor;
  layers: Descriptor[];
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** Digest of what the tag points at (the index when `platforms` was given, else the manifest). */
  digest: string;
  size: number;
  mediaType: string;
  manifests: BuiltManifest[];
  /** Every distinct blob of the image: layers, configs, manifests and the index. */
  blobs: Descriptor[];
  /** Sum of the sizes of `blobs`. */
  totalBytes: number;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const CHUNK = 1024 * 1024;

/** Incompressible bytes from AES-128-CTR keyed by the seed: fast (>1 GB/s) and reproducible. */
function seededStream(seed: string, size: number): Readable {
  const key = crypto.createHash('sha256').update(`motecache-test-layer\0${seed}`).digest();
  const cipher = crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n)));
    },
  });
}

/** A 512-byte ustar header (only what a tar reader needs: name, mode, size, mtime 0, type, checksum). */
function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii'); // uid
  h.write('0000000\0', 116, 'ascii'); // gid
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii'); // mtime: fixed, so layers are reproducible
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write(type, 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** A tar archive with one directory and one regular file of `size` seeded bytes. */
async function* tarLayer(dir: string, seed: string, size: number): AsyncGenerator<Buffer> {
  yield tarHeader(`${dir}/`, 0, '5');
  yield tarHeader(`${dir}/data.bin`, size, '0');
  for await (const chunk of seededStream(seed, size)) yield chunk as Buffer;
  const pad = (512 - (size % 512)) % 512;
  // Padding of the file, then the two zero blocks that end an archive.
  yield Buffer.alloc(pad + 1024);
}

/** Passes bytes through while hashing and counting them. */
class Hasher extends Transform {
  readonly hash = crypto.createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':') as [string, string];
  return path.join(layout, 'blobs', alg, hex);
}

async function writeJsonBlob(layout: string, doc: unknown, mediaType: string): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(doc));
  const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  await fs.promises.writeFile(blobPath(layout, digest), bytes);
  return { mediaType, digest, size: bytes.length };
}

let tmpCounter = 0;

async function writeLayer(
  layout: string,
  dir: string,
  seed: string,
  size: number,
  compress: boolean,
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const tmp = path.join(layout, 'blobs', 'sha256', `.tmp-${process.pid}-${++tmpCounter}`);
  const tarHash = new Hasher();
  const blobHash = compress ? new Hasher() : tarHash;
  try {
    if (compress) {
      // Level 1 with Huffman-only coding: the content is random, so LZ77 matching would find nothing and only
      // cost time (3x slower); the result is an ordinary gzip stream any client decompresses.
      const gz = zlib.createGzip({ level: 1, strategy: zlib.constants.Z_HUFFMAN_ONLY, chunkSize: 256 * 1024 });
      await pipeline(Readable.from(tarLayer(dir, seed, size)), tarHash, gz, blobHash, fs.createWriteStream(tmp));
    } else {
      await pipeline(Readable.from(tarLayer(dir, seed, size)), tarHash, fs.createWriteStream(tmp));
    }
    const digest = blobHash.digest();
    const diffId = compress ? tarHash.digest() : digest;
    await fs.promises.rename(tmp, blobPath(layout, digest));
    return {
      descriptor: { mediaType: compress ? MediaType.OciLayerTarGzip : MediaType.OciLayerTar, digest, size: blobHash.bytes },
      diffId,
    };
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

function platformKey(p: ImagePlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

async function buildManifest(layout: string, spec: ImageSpec, platform: ImagePlatform | undefined, compress: boolean): Promise<BuiltManifest> {
  const suffix = platform ? `@${platformKey(platform)}` : '';
  const built = await Promise.all(
    spec.layers.map((l, i) => writeLayer(layout, `layer${i}`, `${l.seed ?? `${spec.tag}#${i}`}${suffix}`, l.size, compress)),
  );
  const config = await writeJsonBlob(
    layout,
    {
      architecture: platform?.architecture ?? 'amd64',
      os: platform?.os ?? 'linux',
      ...(platform?.variant ? { variant: platform.variant } : {}),
      config: {},
      rootfs: { type: 'layers', diff_ids: built.map((b) => b.diffId) },
      history: built.map((_, i) => ({ created: '1970-01-01T00:00:00Z', created_by: `motecache test layer ${i}` })),
    },
    MediaType.OciConfig,
  );
  const layers = built.map((b) => b.descriptor);
  const manifest = await writeJsonBlob(
    layout,
    { schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers },
    MediaType.OciManifest,
  );
  const p: Platform | undefined = platform
    ? { architecture: platform.architecture, os: platform.os, ...(platform.variant ? { variant: platform.variant } : {}) }
    : undefined;
  return { ...manifest, ...(p ? { platform: p } : {}), config, layers };
}

/**
 * Writes an image into the OCI layout at `layoutDir` (created, or added to: other tags are kept, this tag is
 * replaced) and tags it with the `org.opencontainers.image.ref.name` annotation.
 */
/** The two platforms most multi-platform tests use: linux/amd64 and linux/arm64/v8. */
export const TWO_PLATFORMS: readonly ImagePlatform[] = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
];

export async function makeImage(layoutDir: string, spec: ImageSpec): Promise<BuiltImage> {
  if (!spec.tag || /[\s:/@]/.test(spec.tag)) throw new Error(`makeImage: bad tag ${JSON.stringify(spec.tag)}`);
  const compress = spec.compress ?? true;
  await fs.promises.mkdir(path.join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await fs.promises.writeFile(path.join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  let manifests: BuiltManifest[];
  let top: Descriptor;
  const extra: Descriptor[] = [];
  if (spec.platforms && spec.platforms.length > 0) {
    // Sequential per platform (each one already builds its layers in parallel) to bound open streams.
    manifests = [];
    for (const p of spec.platforms) manifests.push(await buildManifest(layoutDir, spec, p, compress));
    top = await writeJsonBlob(
      layoutDir,
      {
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: manifests.map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: m.platform })),
      },
      MediaType.OciIndex,
    );
    extra.push(top);
  } else {
    const m = await buildManifest(layoutDir, spec, undefined, compress);
    manifests = [m];
    top = { mediaType: m.mediaType, digest: m.digest, size: m.size };
  }

  const indexPath = path.join(layoutDir, 'index.json');
  let index: { schemaVersion: number; mediaType?: string; manifests: Descriptor[] } = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [],
  };
  try {
    index = JSON.parse(await fs.promises.readFile(indexPath, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  index.manifests = index.manifests.filter((d) => d.annotations?.[REF_NAME] !== spec.tag);
  index.manifests.push({ ...top, annotations: { [REF_NAME]: spec.tag } });
  await fs.promises.writeFile(indexPath, JSON.stringify(index));

  const seen = new Map<string, Descriptor>();
  for (const m of manifests) {
    for (const d of [...m.layers, m.config, { mediaType: m.mediaType, digest: m.digest, size: m.size }]) {
      if (!seen.has(d.digest)) seen.set(d.digest, d);
    }
  }
  for (const d of extra) seen.set(d.digest, d);
  const blobs = [...seen.values()];
  return {
    layout: layoutDir,
    tag: spec.tag,
    digest: top.digest,
    size: top.size,
    mediaType: top.mediaType,
    manifests,
    blobs,
    totalBytes: blobs.reduce((s, d) => s + d.size, 0),
  };
}
