/**
 * `oci-archive:` destinations: a tar of an OCI image layout. Reading an existing archive extracts only what a
 * layout is made of (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`, each blob verified against its name)
 * into a private directory, and refuses any entry that could reach outside it; writing packs a new archive into a
 * temporary next to the target and renames it into place. `tar-stream` is loaded only here, on use.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Verifier, isDigest } from '../../digest/index.js';
import { MoteError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { fsyncDir, fsyncPath, lstatQuiet, siblingTemp } from '../../internal/fs.js';
import { withLock } from '../../internal/lockfile.js';
import type { Descriptor } from '../../oci/descriptor.js';
import {
  MAX_INDEX_BYTES,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  blobRelPath,
  checkOciLayoutFile,
  mergeLayoutIndex,
  parseLayoutIndex,
  serializeIndex,
  type LayoutIndex,
} from '../../oci/image-layout.js';
import { InvalidDestinationError, UnsafeArchiveError, checkedAsDestination } from '../errors.js';
import {
  blobPathIn,
  fileBlobSource,
  type BlobSource,
  type ImageToWrite,
} from './blob-source.js';
import type { WriteOptions } from './oci-dir.js';

export interface ExtractedArchive {
  index: LayoutIndex;
  /** Every blob extracted (verified), by digest: its file under the extraction directory. */
  blobs: Map<string, string>;
}

type TarType = import('tar-stream').Header['type'];

/**
 * The entry's path inside the archive, normalised (`./a//b` → `a/b`), or an UnsafeArchiveError for an absolute
 * path or one with a `..` component. Backslashes are refused too: on Windows they would separate components.
 */
export function safeEntryPath(archive: string, name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafeArchiveError(archive, name, 'absolute path');
  if (name.includes('\\')) throw new UnsafeArchiveError(archive, name, 'backslash in path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(archive, name, '".." component');
  // Normalising can uncover a drive path (`./C:/x` is `C:/x`): refused as the same name without `./` is.
  if (/^[A-Za-z]:/.test(parts[0] ?? '')) throw new UnsafeArchiveError(archive, name, 'absolute path');
  return parts.join('/');
}

/** Whether a (normalised) path is one the layout cares about, so that it must be a regular file. */
function isLayoutPath(rel: string): boolean {
  return rel === OCI_LAYOUT_FILE || rel === 'index.json' || rel === 'blobs' || rel.startsWith('blobs/');
}

/** Checks a link entry: its target must stay inside the archive's tree, and layout paths must not be links. */
function checkLink(archive: string, name: string, rel: string, type: TarType, linkname: string): void {
  if (linkname === '' || linkname.startsWith('/') || /^[A-Za-z]:/.test(linkname)) {
    throw new UnsafeArchiveError(archive, name, `${type} to an absolute path ${JSON.stringify(linkname)}`);
  }
  // A symlink's target is relative to the link's directory; a hard link's to the archive's root.
  const base = type === 'symlink' ? path.posix.dirname(rel) : '.';
  const resolved = path.posix.normalize(path.posix.join(base, linkname));
  if (resolved === '..' || resolved.startsWith('../') || linkname.split('/').includes('..') && type === 'link') {
    throw new UnsafeArchiveError(archive, name, `${type} pointing outside the archive (${JSON.stringify(linkname)})`);
  }
  if (isLayoutPath(rel)) throw new UnsafeArchiveError(archive, name, `a ${type} where the layout needs a regular file`);
}

async function readSmall(entry: AsyncIterable<unknown>, archive: string, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    if (size > MAX_INDEX_BYTES) throw new InvalidDestinationError(archive, `${name} is larger than ${MAX_INDEX_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Writes a blob entry to `target`, hashing it, and fails (removing it) unless it hashes to `digest`. */
async function extractBlob(entry: AsyncIterable<unknown>, digest: string, target: string, signal: AbortSignal | undefined): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const verifier = new Verifier({ digest });
  async function* hashing(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      verifier.update(chunk);
      yield chunk;
    }
  }
  try {
    // 'w': a blob repeated in the archive is written again; its content is checked either way.
    // tar-stream's entries are streamx streams: handed over as a plain async iterable, which pipeline takes as is.
    const source = (async function* () {
      for await (const chunk of entry) yield chunk as Uint8Array;
    })();
    await pipeline(source, hashing, fs.createWriteStream(target, { flags: 'w', mode: 0o644 }), signal ? { signal } : {});
    verifier.verify();
  } catch (err) {
    await fs.promises.rm(target, { force: true });
    throw err;
  }
}

/**
 * Pipes `input` into `extract`; resolves once `extract` closed with the error it failed with for a malformed
 * archive (bad checksum, data cut short...), if any. That failure reaches the reader in several shapes (a plain
 * Error, streamx's STREAM_DESTROYED from an entry), so it is taken at its source: not an error reading the file.
 */
function pipeTar(input: fs.ReadStream, extract: import('tar-stream').Extract): Promise<Error | undefined> {
  let inputError: unknown;
  let failure: Error | undefined;
  input.on('error', (err) => {
    inputError = err;
    extract.destroy(err);
  });
  input.pipe(extract);
  return new Promise((resolve) => {
    extract.on('error', (err: Error) => {
      if (err !== inputError) failure ??= err;
    });
    extract.on('close', () => resolve(failure));
  });
}

/**
 * Extracts the OCI layout in the tar at `file` into `into` (an existing, empty, private directory). Only
 * `oci-layout`, `index.json` and `blobs/<alg>/<encoded>` (verified) are written; other regular files and
 * directories are skipped. Refused with UnsafeArchiveError, before anything past that entry is read: absolute
 * paths, `..` components, links pointing out of the tree, links or special files where the layout needs a
 * regular file, device and FIFO entries anywhere, names under `blobs/` that are not digests. A file that is no
 * readable tar (corrupt, truncated) is an InvalidDestinationError. On any failure the caller removes `into`.
 */
export async function readOciArchive(file: string, into: string, options: { signal?: AbortSignal | undefined } = {}): Promise<ExtractedArchive> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  const input = fs.createReadStream(file);
  const malformed = pipeTar(input, extract);
  let layoutFile: Buffer | undefined;
  let indexFile: Buffer | undefined;
  const blobs = new Map<string, string>();
  try {
    for await (const entry of extract) {
      throwIfAborted(options.signal);
      const { name, type = 'file', linkname } = entry.header;
      const rel = safeEntryPath(file, name);
      const kind = type ?? 'file';
      if (kind === 'symlink' || kind === 'link') {
        checkLink(file, name, rel, kind, linkname ?? '');
        entry.resume();
        continue;
      }
      if (kind === 'directory') {
        entry.resume();
        continue;
      }
      if (kind !== 'file' && kind !== 'contiguous-file') throw new UnsafeArchiveError(file, name, `${kind} entries are not allowed`);
      if (rel === OCI_LAYOUT_FILE) layoutFile = await readSmall(entry, file, name);
      else if (rel === 'index.json') indexFile = await readSmall(entry, file, name);
      else if (rel.startsWith('blobs/')) {
        const parts = rel.split('/');
        const digest = parts.length === 3 ? `${parts[1]}:${parts[2]}` : '';
        if (!isDigest(digest)) throw new UnsafeArchiveError(file, name, 'not blobs/<algorithm>/<encoded digest>');
        const target = blobPathIn(into, digest);
        await extractBlob(entry, digest, target, options.signal);
        blobs.set(digest, target);
      } else if (rel === 'blobs' || rel === '') {
        throw new UnsafeArchiveError(file, name, 'a file where the layout needs a directory');
      } else {
        entry.resume();
      }
    }
  } catch (err) {
    input.destroy();
    extract.destroy();
    if (isErrno(err, 'ENOENT') && !fs.existsSync(file)) throw new InvalidDestinationError(file, 'disappeared while being read');
    // Our own refusals stand; anything else that happened because the archive is malformed is reported as that.
    const tarError = err instanceof MoteError ? undefined : await malformed;
    if (tarError) throw new InvalidDestinationError(file, `not a readable tar archive (${tarError.message})`);
    throw err;
  }
  if (!layoutFile || !indexFile) throw new InvalidDestinationError(file, 'not an OCI archive (no oci-layout or index.json)');
  const index = checkedAsDestination(() => {
    checkOciLayoutFile(layoutFile, file);
    return parseLayoutIndex(indexFile, file);
  });
  return { index, blobs };
}

/**
 * Streams `source` into a new tar entry by hand: the entry is a streamx Writable, which Node's `pipeline` does not
 * know how to wait for. Backpressure is kept (wait for `drain`); the entry's callback says when it is complete.
 */
async function copyIntoEntry(
  pack: import('tar-stream').Pack,
  name: string,
  size: number,
  mtime: Date,
  source: Readable,
  signal: AbortSignal | undefined,
): Promise<void> {
  let settle!: (err?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  finished.catch(() => {});
  const sink = pack.entry({ name, size, mode: 0o644, mtime }, (err) => settle(err));
  try {
    for await (const chunk of source) {
      throwIfAborted(signal);
      if (!sink.write(chunk as Buffer)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    (sink as unknown as { end(): void }).end(); // streamx's typings insist on a chunk; end() takes none
  } catch (err) {
    source.destroy();
    sink.destroy(err as Error);
    throw err;
  }
  await finished;
}

interface PackItem {
  descriptor: Descriptor;
  source: BlobSource;
}

/** Packs a layout (`oci-layout`, `index.json`, then the blobs) as a tar into `target`, flushed to disk. */
async function packLayout(target: string, index: LayoutIndex, items: readonly PackItem[], signal: AbortSignal | undefined): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const out = fs.createWriteStream(target, { flags: 'wx', mode: 0o644 });
  const written = pipeline(pack, out, signal ? { signal } : {});
  written.catch(() => {}); // awaited below; an early failure must not be an unhandled rejection meanwhile
  const mtime = new Date();
  const addBuffer = (name: string, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (err) => (err ? reject(err) : resolve())));
  try {
    await addBuffer(OCI_LAYOUT_FILE, Buffer.from(OCI_LAYOUT_CONTENT));
    await addBuffer('index.json', Buffer.from(serializeIndex(index)));
    const dirs = new Set<string>();
    for (const { descriptor } of items) {
      const dir = path.posix.dirname(blobRelPath(descriptor.digest));
      dirs.add('blobs');
      dirs.add(dir);
    }
    for (const dir of [...dirs].sort()) pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, mtime });
    for (const { descriptor, source } of items) {
      throwIfAborted(signal);
      await copyIntoEntry(pack, blobRelPath(descriptor.digest), descriptor.size, mtime, await source.open(descriptor), signal);
    }
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => {});
    throw err;
  }
  await fsyncPath(target);
}

/** Checks an `oci-archive:` destination before anything is fetched: missing, or a regular file. */
export async function inspectArchive(file: string): Promise<'absent' | 'empty' | 'archive'> {
  const st = await lstatQuiet(file);
  if (!st) return 'absent';
  if (!st.isFile()) throw new InvalidDestinationError(file, 'exists and is not a regular file');
  return st.size === 0 ? 'empty' : 'archive';
}

/**
 * Adds `image` to the archive at `file` under `options.tag`: a missing or empty file gets a new archive; an
 * existing one is read safely (see {@link readOciArchive}) and rewritten with every blob and index entry it had,
 * plus the image (an entry with the same tag replaced). The new archive is renamed over the old one only when
 * complete; on failure `file` is as it was and no temporary is left.
 */
export async function writeOciArchive(file: string, image: ImageToWrite, source: BlobSource, options: WriteOptions = {}): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await withLock(file, `${file}.lock`, options.signal, async () => {
    const state = await inspectArchive(file);
    let extractDir: string | undefined;
    const temp = siblingTemp(file);
    try {
      let previous: ExtractedArchive | undefined;
      if (state === 'archive') {
        extractDir = siblingTemp(file, 'mote-extract');
        await fs.promises.mkdir(extractDir, { mode: 0o700 });
        previous = await readOciArchive(file, extractDir, options);
      }
      const index = mergeLayoutIndex(previous?.index, image.entry, options.tag);
      const items: PackItem[] = [];
      const fresh = new Set(image.blobs.map((b) => b.digest));
      if (previous) {
        const old = fileBlobSource(previous.blobs);
        for (const [digest, p] of previous.blobs) {
          if (!fresh.has(digest)) items.push({ descriptor: { mediaType: 'application/octet-stream', digest, size: (await fs.promises.stat(p)).size }, source: old });
        }
      }
      for (const blob of image.blobs) items.push({ descriptor: blob, source });
      await packLayout(temp, index, items, options.signal);
      throwIfAborted(options.signal);
      await fs.promises.rename(temp, file);
    } catch (err) {
      await fs.promises.rm(temp, { force: true });
      throw err;
    } finally {
      if (extractDir) await fs.promises.rm(extractDir, { recursive: true, force: true });
    }
    await fsyncDir(path.dirname(file));
  });
}
