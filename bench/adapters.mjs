// Thin adapters over the three things compared: motecache, cacache and plain node:fs.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cacache from 'cacache';
import { freshDir, rmrf } from './util.mjs';

export { cacache };

// ---------------------------------------------------------------- motecache

/** Opens (and initializes) a motecache store in a fresh directory, or on an existing root with `fresh: false`. */
export async function openMote(lib, root, options = {}, { fresh = true } = {}) {
  if (fresh) await freshDir(root);
  const cache = new lib.FileMoteCache(root, options);
  await cache.initialize();
  return cache;
}

export async function closeMote(cache) {
  if (cache && typeof cache.close === 'function') await cache.close();
}

// ---------------------------------------------------------------- cacache

/** `cacache.put.stream` fed from a Node Readable; resolves with the integrity once the index entry is written. */
export function cacachePutStream(dir, key, source) {
  return new Promise((resolve, reject) => {
    const sink = cacache.put.stream(dir, key);
    sink.on('integrity', (integrity) => resolve(integrity));
    sink.on('error', reject);
    source.on('error', reject);
    source.pipe(sink);
  });
}

// ---------------------------------------------------------------- raw node:fs

/** A pass-through that feeds every chunk to a sha256. */
function hashingTap(hash) {
  return new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

async function fsyncDir(dir) {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Plain node:fs stream write of the reference: source → sha256 tap → createWriteStream(tmp) → rename to
 * blobs/sha256/<hex>. With `durable`, the file is fsynced before close (`flush: true`) and the directory after
 * the rename. Returns `sha256:<hex>`.
 */
export async function rawStreamPut(dir, source, { durable = false } = {}) {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const tmp = join(dir, `tmp-${process.pid}-${Date.now()}`);
  const hash = createHash('sha256');
  await pipeline(source, hashingTap(hash), createWriteStream(tmp, { flush: durable }));
  const hex = hash.digest('hex');
  await rename(tmp, join(blobs, hex));
  if (durable) await fsyncDir(blobs);
  return `sha256:${hex}`;
}

/**
 * A tiny raw store for many small files: sha256, write a temporary, rename into blobs/sha256/<hex>
 * (durable: fsync file, rename, fsync directory — with the directory handle kept open).
 */
export class RawSmallStore {
  constructor(dir, { durable = false } = {}) {
    this.dir = dir;
    this.blobs = join(dir, 'blobs', 'sha256');
    this.durable = durable;
    this.n = 0;
  }

  async init() {
    await freshDir(this.dir);
    await mkdir(this.blobs, { recursive: true });
    if (this.durable) this.dirHandle = await open(this.blobs, 'r');
  }

  async put(data) {
    const hex = createHash('sha256').update(data).digest('hex');
    const tmp = join(this.dir, `tmp-${this.n++}`);
    if (this.durable) {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.blobs, hex));
      await this.dirHandle.sync();
    } else {
      await writeFile(tmp, data, { flag: 'wx' });
      await rename(tmp, join(this.blobs, hex));
    }
    return `sha256:${hex}`;
  }

  async close() {
    await this.dirHandle?.close();
  }

  async destroy() {
    await this.close();
    await rmrf(this.dir);
  }
}
