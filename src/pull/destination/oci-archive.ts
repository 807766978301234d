/**
 * `oci-archive:` destinations: a tar of an OCI image layout. Reading an existing archive extracts what a layout is
 * made of (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`, each blob verified against its name) and keeps
 * every other entry (its header, and a regular file's bytes) to be written back verbatim, into a private
 * directory, refusing any entry that could reach outside it; writing packs a new archive into a temporary next to
 * the target and renames it into place. Whatever ends a write early (an abort, a full disk, a bad entry) ends it
 * through one path: the archive is as it was, the temporaries are removed, the error is typed. `tar-stream` is
 * loaded only here, on use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Verifier, isDigest } from '../../digest/index.js';
import { AbortError, MoteError, SizeMismatchError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { READ_NOFOLLOW, fsyncDir, fsyncPath, lstatQuiet, siblingTemp } from '../../internal/fs.js';
import { withLock } from '../../internal/lockfile.js';
import {
  INDEX_FILE,
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
import { InvalidDestinationError, UnsafeArchiveError, checkedAsDestination, destinationFailure } from '../errors.js';
import { blobPathIn, fileBlobSource, type BlobSource, type ImageToWrite } from './blob-source.js';
import { sweepLeftovers } from './leftovers.js';
import type { WriteOptions } from './oci-dir.js';

/** A tar entry's header as tar-stream reads and writes it (its typings leave out the pax records). */
export type TarHeader = Partial<Omit<import('tar-stream').Header, 'pax'>> & { name: string; pax?: Record<string, string> };
type TarType = import('tar-stream').Header['type'];

/** An entry of an existing archive that is not part of its layout, kept to be written back as it was. */
export interface ArchiveExtra {
  /** The entry's header (its name as the archive spells it; pax records other than path, linkpath and size). */
  header: TarHeader;
  /** A regular file's bytes, extracted under the extraction directory (under a number, not under its name). */
  file?: string;
}

export interface ExtractedArchive {
  index: LayoutIndex;
  /** Every blob extracted (verified), by digest: its file under the extraction directory. */
  blobs: Map<string, string>;
  /** Every other entry (files, directories, links inside the archive's tree), in the archive's order. */
  extras: ArchiveExtra[];
}

/**
 * The entry's path inside the archive, normalised (`./a//b` → `a/b`), or an UnsafeArchiveError for an absolute
 * path or one with a `..` component. Backslashes are refused too: on Windows they would separate components.
 */
export function safeEntryPath(archive: string, name: string): string {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafeArchiveError(archive, name, 'absolute path');
  if (name.includes('\\')) throw new UnsafeArchiveError(archive, name, 'backslash in path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(archive, name, '".." component');
  return parts.join('/');
}

/** Whether a (normalised) path is one the layout cares about, so that it must be a regular file. */
function isLayoutPath(rel: string): boolean {
  return rel === OCI_LAYOUT_FILE || rel === INDEX_FILE || rel === 'blobs' || rel.startsWith('blobs/');
}

/** Refuses a path below one of the layout's files (`index.json/x`): no tar could extract both. */
function checkNotUnderLayoutFile(archive: string, name: string, rel: string): void {
  for (const f of [OCI_LAYOUT_FILE, INDEX_FILE]) {
    if (rel.startsWith(`${f}/`)) throw new UnsafeArchiveError(archive, name, `a path under ${f}, which is a file of the layout`);
  }
}

/** Checks a link entry: its target must stay inside the archive's tree, and layout paths must not be links. */
function checkLink(archive: string, name: string, rel: string, type: TarType, linkname: string): void {
  if (linkname === '' || linkname.startsWith('/') || /^[A-Za-z]:/.test(linkname)) {
    throw new UnsafeArchiveError(archive, name, `${type} to an absolute path ${JSON.stringify(linkname)}`);
  }
  if (linkname.includes('\\')) throw new UnsafeArchiveError(archive, name, `${type} target with a backslash`);
  // A symlink's target is relative to the link's directory; a hard link's to the archive's root.
  const base = type === 'symlink' ? path.posix.dirname(rel) : '.';
  const resolved = path.posix.normalize(path.posix.join(base, linkname));
  if (resolved === '..' || resolved.startsWith('../') || (linkname.split('/').includes('..') && type === 'link')) {
    throw new UnsafeArchiveError(archive, name, `${type} pointing outside the archive (${JSON.stringify(linkname)})`);
  }
  if (isLayoutPath(rel)) throw new UnsafeArchiveError(archive, name, `a ${type} where the layout needs a regular file`);
}

/** What is kept of an extra entry's header: everything a tar writer needs to write it back as it was. */
function keptHeader(h: TarHeader, type: TarType): TarHeader {
  const out: TarHeader = { name: h.name, type };
  if (h.mode !== undefined) out.mode = h.mode;
  if (h.mtime !== undefined) out.mtime = h.mtime;
  if (h.uid !== undefined) out.uid = h.uid;
  if (h.gid !== undefined) out.gid = h.gid;
  if (h.uname) out.uname = h.uname;
  if (h.gname) out.gname = h.gname;
  if (type === 'symlink' || type === 'link') out.linkname = h.linkname ?? '';
  if (type === 'file' || type === 'contiguous-file') out.size = h.size ?? 0;
  if (h.pax) {
    // path, linkpath and size are re-derived from the fields above when the entry is written.
    const { path: _p, linkpath: _l, size: _s, ...rest } = h.pax;
    if (Object.keys(rest).length > 0) out.pax = rest;
  }
  return out;
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

/** Discards what is written to it (a repeated blob is hashed, not written again). */
function devNull(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

/**
 * Writes an entry's bytes to `target` (a new file, created exclusively: never through a link), or only hashes
 * them when `target` is undefined; with `digest`, fails (removing the file) unless they hash to it.
 */
async function extractEntry(entry: AsyncIterable<unknown>, target: string | undefined, digest: string | undefined, signal: AbortSignal | undefined): Promise<void> {
  const verifier = digest === undefined ? undefined : new Verifier({ digest });
  // tar-stream's entries are streamx streams: handed over as a plain async iterable, which pipeline takes as is.
  const source = (async function* () {
    for await (const chunk of entry) {
      verifier?.update(chunk as Uint8Array);
      yield chunk as Uint8Array;
    }
  })();
  try {
    const sink = target === undefined ? devNull() : fs.createWriteStream(target, { flags: 'wx', mode: 0o600 });
    await pipeline(source, sink, signal ? { signal } : {});
    verifier?.verify();
  } catch (err) {
    if (target !== undefined) await fs.promises.rm(target, { force: true }).catch(() => {});
    throw err;
  }
}

/** Whether `head` (the first 512 bytes of a file) is a tar header block with a valid checksum, or an end block. */
function looksLikeTar(head: Buffer): boolean {
  if (head.length < 512) return false;
  if (head.every((b) => b === 0)) return true; // an empty archive
  const field = head.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : head[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/**
 * An error raised while reading `file`, as what it means: typed errors as they are, the archive's own faults
 * (malformed or truncated tar: what tar-stream reports, or a stream it destroyed because of it) as an
 * InvalidDestinationError naming the file, a full disk as a NoSpaceError.
 */
function readFailure(err: unknown, file: string, into: string, malformed: Error | undefined, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return err instanceof AbortError ? err : new AbortError(signal.reason);
  if (err instanceof MoteError) return err;
  if (isErrno(err, 'ENOENT') && !fs.existsSync(file)) return new InvalidDestinationError(file, 'disappeared while being read');
  if (isErrno(err, 'ELOOP')) return new InvalidDestinationError(file, 'is a symbolic link');
  const isSystemError = typeof err === 'object' && err !== null && typeof (err as { syscall?: unknown }).syscall === 'string';
  if (isSystemError) return destinationFailure(err, into, signal);
  if (malformed) return new InvalidDestinationError(file, `not a readable tar archive (truncated or corrupt): ${malformed.message}`);
  return err;
}

/**
 * Extracts the OCI layout in the tar at `file` into `into` (an existing, empty, private directory). `oci-layout`
 * and `index.json` are read, `blobs/<alg>/<encoded>` written (verified), other regular files written under
 * numbers, other entries kept as headers (see {@link ExtractedArchive}). Refused with UnsafeArchiveError, before
 * anything past that entry is read: absolute paths, `..` components, links pointing out of the tree, links or
 * special files where the layout needs a regular file, paths under a layout file, device and FIFO entries and
 * entries of unknown types anywhere, names under `blobs/` that are not digests. A file that is no tar, or a
 * truncated one, is an InvalidDestinationError naming it; `file` is never read through a symbolic link. On any
 * failure the caller removes `into`.
 */
export async function readOciArchive(file: string, into: string, options: { signal?: AbortSignal | undefined } = {}): Promise<ExtractedArchive> {
  const { signal } = options;
  const tar = await import('tar-stream');
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, READ_NOFOLLOW);
  } catch (err) {
    throw readFailure(err, file, into, undefined, signal);
  }
  const input = handle.createReadStream();
  const extract = tar.extract();
  let inputFailure: Error | undefined;
  let malformed: Error | undefined;
  input.on('error', (err) => {
    inputFailure ??= err;
    extract.destroy(err);
  });
  // Always listened to: after the loop below has stopped, a late error must not be an unhandled 'error' event.
  extract.on('error', (err: Error) => {
    if (err !== inputFailure) malformed ??= err;
  });
  input.pipe(extract);
  let layoutFile: Buffer | undefined;
  let indexFile: Buffer | undefined;
  const blobs = new Map<string, string>();
  const extras: ArchiveExtra[] = [];
  try {
    for await (const entry of extract) {
      throwIfAborted(signal);
      const header = entry.header as TarHeader;
      const { name, linkname } = header;
      const rel = safeEntryPath(file, name);
      // tar-stream says null for a type flag it does not know (sparse, volume label...): neither extracted as a
      // file (its bytes may not be the file's) nor written back as something else.
      if (header.type == null) throw new UnsafeArchiveError(file, name, 'an entry of an unknown type');
      const kind: TarType = header.type;
      checkNotUnderLayoutFile(file, name, rel);
      if (kind === 'symlink' || kind === 'link') {
        checkLink(file, name, rel, kind, linkname ?? '');
        extras.push({ header: keptHeader(header, kind) });
        entry.resume();
        continue;
      }
      if (kind === 'directory') {
        // The layout's own directories are written anew; the archive's root needs no entry.
        if (rel !== '' && !isLayoutPath(rel)) extras.push({ header: keptHeader(header, kind) });
        entry.resume();
        continue;
      }
      if (kind !== 'file' && kind !== 'contiguous-file') throw new UnsafeArchiveError(file, name, `${kind} entries are not allowed`);
      if (rel === OCI_LAYOUT_FILE) layoutFile = await readSmall(entry, file, name);
      else if (rel === INDEX_FILE) indexFile = await readSmall(entry, file, name);
      else if (rel.startsWith('blobs/')) {
        const parts = rel.split('/');
        const digest = parts.length === 3 ? `${parts[1]}:${parts[2]}` : '';
        if (!isDigest(digest)) throw new UnsafeArchiveError(file, name, 'not blobs/<algorithm>/<encoded digest>');
        if (blobs.has(digest)) {
          await extractEntry(entry, undefined, digest, signal); // a repeat: its content is checked all the same
        } else {
          const target = blobPathIn(into, digest);
          await fs.promises.mkdir(path.dirname(target), { recursive: true });
          await extractEntry(entry, target, digest, signal);
          blobs.set(digest, target);
        }
      } else if (rel === 'blobs' || rel === '') {
        throw new UnsafeArchiveError(file, name, 'a file where the layout needs a directory');
      } else {
        const target = path.join(into, 'extra', String(extras.length));
        await fs.promises.mkdir(path.dirname(target), { recursive: true });
        await extractEntry(entry, target, undefined, signal);
        extras.push({ header: keptHeader(header, kind), file: target });
      }
    }
  } catch (err) {
    input.destroy();
    extract.destroy();
    throw readFailure(err, file, into, malformed, signal);
  }
  if (!layoutFile || !indexFile) throw new InvalidDestinationError(file, 'not an OCI archive (no oci-layout or index.json)');
  const index = checkedAsDestination(() => {
    checkOciLayoutFile(layoutFile, file);
    return parseLayoutIndex(indexFile, file);
  });
  return { index, blobs, extras };
}

/** One entry of an archive being written, and where its bytes come from. */
interface PackEntry {
  header: TarHeader;
  /** None for a directory or a link; a buffer; or a stream opened when the entry's turn comes. */
  body?: Buffer | (() => Promise<Readable>);
  /** Names the entry in a size mismatch (a blob's digest). */
  label?: string;
}

/** tar-stream's entry streams are streamx Writables (its typings say Node's). */
interface TarSink {
  write(chunk: Buffer): boolean;
  end(): void;
  destroy(err?: Error): void;
  readonly destroying: boolean;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** Resolves when `sink` can take more, or is being destroyed (the pack failed: the entry's callback says why). */
function writable(sink: TarSink): Promise<void> {
  if (sink.destroying) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}

/**
 * Adds one entry to `pack` and resolves once tar-stream has taken all of it; rejects if the pack fails meanwhile
 * (with tar-stream's generic error: the caller reports the pack's own failure instead). Backpressure is kept. A
 * stream giving more or fewer bytes than the header's size is a SizeMismatchError (a tar with a wrong size in a
 * header would be corrupt from that entry on).
 */
async function addEntry(pack: import('tar-stream').Pack, entry: PackEntry): Promise<void> {
  let settle!: (err?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  done.catch(() => {});
  const { header, body } = entry;
  if (Buffer.isBuffer(body)) {
    const sink = pack.entry(header, body, (err) => settle(err)) as unknown as TarSink;
    sink.on('error', () => {}); // reported through the callback, and the pack's failure through its pipeline
    return done;
  }
  const sink = pack.entry(header, (err) => settle(err)) as unknown as TarSink;
  sink.on('error', () => {});
  if (body === undefined) return done; // a directory or a link: no bytes
  const size = header.size ?? 0;
  const source = await body();
  let count = 0;
  try {
    for await (const chunk of source) {
      if (sink.destroying) break;
      count += (chunk as Buffer).length;
      if (count > size) throw new SizeMismatchError(entry.label ?? header.name, size, count);
      if (!sink.write(chunk as Buffer)) await writable(sink);
    }
    if (!sink.destroying) {
      if (count !== size) throw new SizeMismatchError(entry.label ?? header.name, size, count);
      sink.end();
    }
  } catch (err) {
    sink.destroy(err as Error);
    throw err;
  } finally {
    source.destroy();
  }
  return done;
}

/**
 * Writes `entries` as a tar into `target` (a new file, created exclusively), flushed to disk. However it ends
 * early (an abort, the file's write failing, an entry's source failing) it ends the same way: the pack is
 * destroyed, the output closed, and the first failure thrown (an abort as AbortError); the caller removes
 * `target`. No stream is left with an unhandled 'error' event.
 */
async function packArchive(target: string, entries: readonly PackEntry[], signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const out = fs.createWriteStream(target, { flags: 'wx', mode: 0o644 });
  let failure: unknown;
  const written = pipeline(pack, out);
  // Registered first, so it has run by the time anyone else awaits `written`: the pipeline's first failure.
  written.catch((err: unknown) => {
    failure ??= err;
  });
  const onAbort = (): void => {
    pack.destroy(new AbortError(signal?.reason));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (const entry of entries) await addEntry(pack, entry);
    pack.finalize();
    await written;
  } catch (err) {
    pack.destroy(err as Error);
    await written.catch(() => {});
    throw failure ?? err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  await fsyncPath(target);
}

/** The entries of an archive holding `index`, `blobs` (each with its source), then `extras` as they were. */
function archiveEntries(index: LayoutIndex, blobs: ReadonlyArray<{ digest: string; size: number; source: BlobSource }>, extras: readonly ArchiveExtra[]): PackEntry[] {
  const mtime = new Date();
  const file = (name: string, data: string): PackEntry => ({ header: { name, mode: 0o644, mtime, type: 'file' }, body: Buffer.from(data) });
  const entries: PackEntry[] = [file(OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT), file(INDEX_FILE, serializeIndex(index))];
  const dirs = new Set<string>();
  for (const { digest } of blobs) {
    dirs.add('blobs');
    dirs.add(path.posix.dirname(blobRelPath(digest)));
  }
  for (const dir of [...dirs].sort()) entries.push({ header: { name: `${dir}/`, type: 'directory', mode: 0o755, mtime } });
  for (const { digest, size, source } of blobs) {
    const descriptor = { mediaType: 'application/octet-stream', digest, size };
    entries.push({ header: { name: blobRelPath(digest), size, mode: 0o644, mtime, type: 'file' }, body: () => source.open(descriptor), label: digest });
  }
  for (const { header, file: extracted } of extras) {
    const entry: PackEntry = { header: { ...header } };
    if (extracted !== undefined) entry.body = async () => (await fs.promises.open(extracted, READ_NOFOLLOW)).createReadStream();
    entries.push(entry);
  }
  return entries;
}

/**
 * Checks an `oci-archive:` destination before anything is fetched: missing, empty, or a regular file (not a link)
 * that starts like a tar archive (a compressed or unrelated file fails now, not after the download).
 * @throws InvalidDestinationError
 */
export async function inspectArchive(file: string): Promise<'absent' | 'empty' | 'archive'> {
  const st = await lstatQuiet(file);
  if (!st) return 'absent';
  if (!st.isFile()) throw new InvalidDestinationError(file, 'exists and is not a regular file');
  if (st.size === 0) return 'empty';
  const head = Buffer.alloc(512);
  let got: number;
  try {
    const handle = await fs.promises.open(file, READ_NOFOLLOW);
    try {
      ({ bytesRead: got } = await handle.read(head, 0, 512, 0));
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isErrno(err, 'ELOOP')) throw new InvalidDestinationError(file, 'is a symbolic link');
    if (isErrno(err, 'ENOENT')) return 'absent';
    throw err;
  }
  if (got < 512) throw new InvalidDestinationError(file, `not a tar archive (${got} bytes: truncated)`);
  if (!looksLikeTar(head)) {
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    throw new InvalidDestinationError(file, `not a tar archive${gzip ? ' (gzip-compressed: oci-archive destinations are plain tar)' : ''}`);
  }
  return 'archive';
}

/**
 * Adds `image` to the archive at `file` under `options.tag`: a missing or empty file gets a new archive; an
 * existing one is read safely (see {@link readOciArchive}) and rewritten with every blob, index entry and other
 * entry it had, plus the image (an entry with the same tag replaced). The new archive is renamed over the old one
 * only when complete. On any failure `file` is as it was, no temporary is left, and the error is typed: AbortError
 * when `options.signal` fired, NoSpaceError for a full disk, InvalidDestinationError for a file that is no
 * (readable) OCI archive, UnsafeArchiveError for a hostile one. Leftovers of writers that died are removed first.
 */
export async function writeOciArchive(file: string, image: ImageToWrite, source: BlobSource, options: WriteOptions = {}): Promise<void> {
  const { signal } = options;
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await withLock(file, `${file}.lock`, signal, async () => {
      const name = path.basename(file);
      await sweepLeftovers(path.dirname(file), (target) => target === name);
      const state = await inspectArchive(file);
      const temp = siblingTemp(file);
      let extractDir: string | undefined;
      try {
        let previous: ExtractedArchive | undefined;
        if (state === 'archive') {
          extractDir = siblingTemp(file, 'mote-extract');
          await fs.promises.mkdir(extractDir, { mode: 0o700 });
          previous = await readOciArchive(file, extractDir, { signal });
        }
        const index = mergeLayoutIndex(previous?.index, image.entry, options.tag);
        const blobs: Array<{ digest: string; size: number; source: BlobSource }> = [];
        const fresh = new Set(image.blobs.map((b) => b.digest));
        if (previous) {
          const old = fileBlobSource(previous.blobs);
          for (const [digest, p] of previous.blobs) {
            if (!fresh.has(digest)) blobs.push({ digest, size: (await fs.promises.lstat(p)).size, source: old });
          }
        }
        for (const blob of image.blobs) blobs.push({ digest: blob.digest, size: blob.size, source });
        await packArchive(temp, archiveEntries(index, blobs, previous?.extras ?? []), signal);
        throwIfAborted(signal);
        await fs.promises.rename(temp, file);
      } catch (err) {
        await fs.promises.rm(temp, { force: true }).catch(() => {});
        throw err;
      } finally {
        if (extractDir) await fs.promises.rm(extractDir, { recursive: true, force: true }).catch(() => {});
      }
      await fsyncDir(path.dirname(file));
    });
  } catch (err) {
    throw destinationFailure(err, file, signal);
  }
}
