/**
 * Packing an archive: a layout's files, its blobs and the entries kept from an archive being rewritten, into a tar
 * at a temporary path. Every entry stream is listened to for errors, and whatever ends the packing early (an abort,
 * a full disk, a source that fails) ends it through one path, with the first real failure.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbortError, SizeMismatchError } from '../../errors.js';
import { throwIfAborted } from '../../internal/abort.js';
import { READ_NOFOLLOW, fsyncPath } from '../../internal/fs.js';
import { INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE, blobRelPath, serializeIndex, type LayoutIndex } from '../../oci/image-layout.js';
import { type BlobSource } from './blob-source.js';
import type { ArchiveExtra, TarHeader } from './archive-read.js';

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
export async function packArchive(target: string, entries: readonly PackEntry[], signal: AbortSignal | undefined): Promise<void> {
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
export function archiveEntries(index: LayoutIndex, blobs: ReadonlyArray<{ digest: string; size: number; source: BlobSource }>, extras: readonly ArchiveExtra[]): PackEntry[] {
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
