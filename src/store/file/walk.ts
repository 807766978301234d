import fs from 'node:fs';
import path from 'node:path';
import { ALGORITHMS, isDigest, type DigestAlgorithm } from '../../digest/index.js';
import type { StorePaths } from './paths.js';
import type { StoreContext } from './context.js';
import type { MoteInfo } from '../types.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';

export interface BlobEntry {
  digest: string;
  path: string;
  size: number;
  ino: number;
  nlink: number;
  mtimeMs: number;
  /** A regular file: a mote. Anything else named as a digest (a symlink, a directory...) is corrupt (blob-file.ts). */
  regular: boolean;
}

/**
 * Every entry named as a digest in `blobs/<alg>/`, for every supported algorithm, regular or not (never followed:
 * lstat); `verify` reports and evicts those that are not regular files. Names that are not valid encoded digests
 * (foreign files, editor droppings) are skipped: they are not motes. Synchronous lstat: ~5 µs here against ~45 µs
 * for the async call, which is the difference between 0.5 s and 4.5 s on 100,000 motes.
 */
export function* walkBlobEntries(paths: StorePaths): Generator<BlobEntry> {
  for (const algorithm of Object.keys(ALGORITHMS) as DigestAlgorithm[]) {
    const dir = paths.algorithmDir(algorithm);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!isDigest(`${algorithm}:${name}`)) continue; // the same rule every digest argument passes
      const p = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue; // removed meanwhile
      }
      yield { digest: `${algorithm}:${name}`, path: p, size: st.size, ino: st.ino, nlink: st.nlink, mtimeMs: st.mtimeMs, regular: st.isFile() };
    }
  }
}

/** Every mote: the regular files among {@link walkBlobEntries} (what `list`, `stats` and `prune` count). */
export function* walkBlobs(paths: StorePaths): Generator<BlobEntry> {
  for (const e of walkBlobEntries(paths)) if (e.regular) yield e;
}

/** Sum of sizes with each inode counted once. */
export function uniqueBytes(entries: Iterable<BlobEntry>): { count: number; bytes: number } {
  const seen = new Set<number>();
  let count = 0;
  let bytes = 0;
  for (const e of entries) {
    count++;
    if (seen.has(e.ino)) continue;
    seen.add(e.ino);
    bytes += e.size;
  }
  return { count, bytes };
}

/** Every mote of the store with its media type (from the index, a hint: unknown ones read as the default). */
export async function* listMotes(ctx: StoreContext): AsyncIterable<MoteInfo> {
  let meta: Map<string, { mediaType: string }>;
  try {
    meta = ctx.index.all();
  } catch {
    meta = new Map();
  }
  for (const e of walkBlobs(ctx.paths)) {
    yield { digest: e.digest, size: e.size, mediaType: meta.get(e.digest)?.mediaType ?? DEFAULT_MEDIA_TYPE };
  }
}

/**
 * Bytes held by partial downloads (`.mote/partial/`): on disk, but not motes (never served, not pruned by size);
 * `stats` reports them apart so a cache that looks small is not silently full.
 */
export function partialBytes(paths: StorePaths): number {
  let names: string[];
  try {
    names = fs.readdirSync(paths.partialDir);
  } catch {
    return 0;
  }
  let bytes = 0;
  for (const name of names) {
    const st = fs.lstatSync(path.join(paths.partialDir, name), { throwIfNoEntry: false });
    if (st?.isFile()) bytes += st.size;
  }
  return bytes;
}
