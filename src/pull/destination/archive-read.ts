/**
 * Reading an existing `oci-archive`: what a layout is made of (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`,
 * each blob verified against its name) is extracted, every other entry kept (its header, and a regular file's
 * bytes) to be written back verbatim, into a private directory, refusing any entry that could reach outside it.
 * `tar-stream` is loaded only here, on use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Verifier, isDigest } from '../../digest/index.js';
import { AbortError, MoteError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { READ_NOFOLLOW } from '../../internal/fs.js';
import { INDEX_FILE, MAX_INDEX_BYTES, OCI_LAYOUT_FILE, checkOciLayoutFile, parseLayoutIndex, type LayoutIndex } from '../../oci/image-layout.js';
import { InvalidDestinationError, UnsafeArchiveError, checkedAsDestination, destinationFailure } from '../errors.js';
import { blobPathIn } from './blob-source.js';

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
  // Normalising can uncover a drive path (`./C:/x` is `C:/x`): refused as the same name without `./` is.
  if (/^[A-Za-z]:/.test(parts[0] ?? '')) throw new UnsafeArchiveError(archive, name, 'absolute path');
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
export function looksLikeTar(head: Buffer): boolean {
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
