/**
 * The cache's image view: which tag of which repository resolved to which manifest, as the cache last saw it (a
 * `pull`, or crane's inspection reads: `fetchImageManifest`, `fetchImageConfig`).
 * Blobs are named by digest; this is the one place a tag is kept, so that `mote images` can list what the cache
 * holds by name and `pull --offline` can resolve a tag with no registry at all.
 *
 * One small JSON file per reference under `<root>/.mote/refs/`, named by the SHA-256 of the reference (a flat
 * directory: no registry, repository or tag spelling can reach outside it), written to a temporary and renamed in
 * (a reader sees the old record or the new, never part of one; concurrent pulls of one tag: the last rename wins,
 * and both were right when they were made). Records are read as outside input: each is checked, a bad one is
 * skipped (`list`) or missing (`read`), never trusted.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isDigest } from '../digest/index.js';
import { sweepLeftovers } from '../internal/leftovers.js';
import { OfflineMissError } from './errors.js';
import { readSmallFile, writeFileAtomic } from '../internal/fs.js';
import { parsePlatform } from '../oci/platform.js';
import { parseReference, type Reference } from '../reference/index.js';

/** A record is a few hundred bytes; anything larger is not one. */
const MAX_RECORD_BYTES = 64 * 1024;
/** The most records `listRefs` reads: a cache holds at most thousands of tags; past this the listing stops. */
export const MAX_LISTED_REFS = 100_000;
const NAME_RE = /^[0-9a-f]{64}\.json$/;
const MEDIA_TYPE_RE = /^[A-Za-z0-9][\w.+-]{0,126}\/[\w.+-]{1,127}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function isPlatform(p: unknown): boolean {
  if (typeof p !== 'string' || p.length > 100) return false;
  try {
    parsePlatform(p);
    return true;
  } catch {
    return false;
  }
}

export interface CachedRef {
  /** `registry/repository:tag`, canonical. */
  reference: string;
  registry: string;
  repository: string;
  tag: string;
  /** What the tag resolved to: the index for a multi-platform image. */
  digest: string;
  mediaType: string;
  size: number;
  /** `os/arch[/variant]` of an index's manifests (empty for a single manifest). */
  platforms: string[];
  /** When it was recorded (ISO 8601): the end of the pull, or the read (`fetchImageManifest`…), that resolved it. */
  recordedAt: string;
}

export const refsDir = (root: string): string => path.join(root, '.mote', 'refs');
const fileOf = (root: string, reference: string): string => path.join(refsDir(root), `${createHash('sha256').update(reference).digest('hex')}.json`);
const tagged = (ref: Reference, tag: string): string => `${ref.registry}/${ref.repository}:${tag}`;

/**
 * Records that `ref`'s tag (`latest` when it names none, as a pull resolves it) resolved to `top` (a pull's or an
 * inspection's result). A reference with a digest records nothing, `repo:tag@sha256:…` included: the digest was
 * read, the tag was not resolved (it may name another image by now), so there is nothing learnt to remember.
 */
export async function recordRef(root: string, ref: Reference, top: { digest: string; mediaType: string; size: number }, platforms: readonly string[] = []): Promise<void> {
  if (ref.digest !== undefined) return;
  const tag = ref.tag ?? 'latest';
  const reference = tagged(ref, tag);
  const record: CachedRef = {
    reference,
    registry: ref.registry,
    repository: ref.repository,
    tag,
    digest: top.digest,
    mediaType: top.mediaType,
    size: top.size,
    platforms: [...platforms],
    recordedAt: new Date().toISOString(),
  };
  await fs.promises.mkdir(refsDir(root), { recursive: true });
  await writeFileAtomic(fileOf(root, reference), `${JSON.stringify(record)}\n`);
  // What writers killed mid-write left (their pid is dead): a courtesy, never this write's failure.
  await sweepLeftovers(refsDir(root), (target) => NAME_RE.test(target)).catch(() => 0);
}

/** A record as read from disk, if it is one and is the record of `expected` (when given). */
function parseRecord(text: string, expected?: string): CachedRef | undefined {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const r = o as Record<string, unknown>;
  const strings = ['reference', 'registry', 'repository', 'tag', 'digest', 'mediaType', 'recordedAt'];
  if (!strings.every((k) => typeof r[k] === 'string')) return undefined;
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0 || !isDigest(r.digest as string)) return undefined;
  if (!Array.isArray(r.platforms) || r.platforms.length > 1000 || !r.platforms.every(isPlatform)) return undefined;
  // What `mote images` prints must be what a record may hold: no text of someone else's choosing on a terminal.
  if (!MEDIA_TYPE_RE.test(r.mediaType as string) || !ISO_RE.test(r.recordedAt as string) || !Number.isFinite(Date.parse(r.recordedAt as string))) return undefined;
  let ref: Reference;
  try {
    ref = parseReference(r.reference as string);
  } catch {
    return undefined;
  }
  // The file must say what its name says: a record copied under another name is not that reference's.
  if (ref.tag === undefined || ref.digest !== undefined || tagged(ref, ref.tag) !== r.reference) return undefined;
  if (ref.registry !== r.registry || ref.repository !== r.repository || ref.tag !== r.tag) return undefined;
  if (expected !== undefined && r.reference !== expected) return undefined;
  return {
    reference: r.reference as string,
    registry: ref.registry,
    repository: ref.repository,
    tag: ref.tag,
    digest: r.digest as string,
    mediaType: r.mediaType as string,
    size: r.size as number,
    platforms: r.platforms as string[],
    recordedAt: r.recordedAt as string,
  };
}

function readBounded(file: string): string | undefined {
  const text = readSmallFile(file, MAX_RECORD_BYTES);
  return typeof text === 'string' ? text : undefined;
}

/** The record of `ref`'s tag (`latest` when it names none), if the cache has a good one. */
export function readRef(root: string, ref: Reference): CachedRef | undefined {
  const reference = tagged(ref, ref.tag ?? 'latest');
  const text = readBounded(fileOf(root, reference));
  return text === undefined ? undefined : parseRecord(text, reference);
}

/** Every good record, sorted by reference (at most {@link MAX_LISTED_REFS}). */
export function listRefs(root: string): CachedRef[] {
  let dir: fs.Dir;
  try {
    dir = fs.opendirSync(refsDir(root));
  } catch {
    return [];
  }
  const out: CachedRef[] = [];
  // Entry by entry (a directory someone filled with millions of names is not read into memory at once), and no
  // more than MAX_LISTED_REFS records (each at most MAX_RECORD_BYTES).
  const names = (function* (): Generator<string> {
    try {
      for (let e = dir.readSync(); e !== null; e = dir.readSync()) yield e.name;
    } finally {
      dir.closeSync();
    }
  })();
  for (const name of names) {
    if (!NAME_RE.test(name)) continue;
    if (out.length >= MAX_LISTED_REFS) {
      names.return(undefined);
      break;
    }
    const text = readBounded(path.join(refsDir(root), name));
    const record = text === undefined ? undefined : parseRecord(text);
    // The name must be the record's own: a record under another reference's name is skipped.
    if (record && fileOf(root, record.reference) === path.join(refsDir(root), name)) out.push(record);
  }
  return out.sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
}

/** Forgets `ref`'s tag; true if there was a record. */
export function forgetRef(root: string, ref: Reference): boolean {
  try {
    fs.unlinkSync(fileOf(root, tagged(ref, ref.tag ?? 'latest')));
    return true;
  } catch {
    return false;
  }
}

/** The digest an offline read starts from: the reference's own, or what the cache recorded its tag resolved to. */
export function offlineDigest(root: string, ref: Reference): string {
  if (ref.digest !== undefined) return ref.digest;
  const record = readRef(root, ref);
  if (!record) throw new OfflineMissError(`${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'} (no pull of this tag recorded in ${root})`);
  return record.digest;
}
