/**
 * Values of any size on a `KeyValueStore`, read back whole or not at all.
 *
 * A record is a one-line JSON head (`{"v":1,"bytes":N,"sha256":"..."}`), a newline, then the body when it fits
 * in one value. A larger body is split into chunks of `MAX_VALUE_BYTES` written first under keys of a fresh
 * random generation (`motemeta1|chunk|<gen>|<i>`, never rewritten), and the head (with `gen` and `chunks`) is
 * written last: one `set` switches readers from the whole old value to the whole new one. A reader checks the
 * length and SHA-256 of what it assembled. The previous generation's chunks are deleted once the new head is in;
 * a reader that was still on them finds one missing, sees that the head moved, and reads the new generation.
 *
 * Writers of one record take turns at the head. Without turns, two overlapping writers both read the same previous
 * head, and the second `set` replaces the first writer's head without anyone deleting its chunks: a generation no
 * head names, never deleted when records have no TTL. So a writer, once its chunks are in, takes the record's
 * write lock (`motemeta1|wlock|<sha256 of the record key>`: one `add` of a fresh nonce with a TTL), reads the
 * head it replaces, sets its own, releases the lock (`deleteIf` of its nonce) and then deletes the replaced
 * generation. The head is still swapped with one `set`, not a `deleteIf` then an `add`: between those two a
 * reader would be told "absent" (and a writer dying there would lose the record), and `add` cannot store a
 * record without a TTL.
 *
 * Bounds: the lock is held for two round trips and expires after `LOCK_TTL_MS` should its holder die; a writer
 * waits for it at most `LOCK_WAIT_MS` (past the TTL: a dead holder's lock is outlived) in at most
 * `LOCK_ATTEMPTS` tries, then deletes its own chunks and fails with `CacheUnavailableError`. A holder stalled
 * past the TTL finds at release that the lock is no longer its own: if its head was replaced meanwhile it deletes
 * its own chunks (a head it overwrote without seeing it may then leak its chunks: space only, after a stall).
 */
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheUnavailableError } from '../errors.js';
import { KEY_VERSION, metadataKeys } from './keys.js';
import { slices } from './bounded.js';
import { MAX_VALUE_BYTES, type KeyValueStore } from './types.js';

interface Head {
  v: 1;
  bytes: number;
  sha256: string;
  gen?: string;
  chunks?: number;
  /** The writer's order of the value (a repository's `lastUpdate`): lets a writer keep a newer value it finds. */
  order?: number;
}

/** A head decoded: the body inline, or where its chunks are. */
type Decoded = { head: Head; inline: Buffer | undefined };
/** What resolving a head gave: the body; a chunk missing (perhaps rewritten meanwhile); or unusable bytes. */
type Resolved = { body: Buffer } | 'missing' | 'corrupt';

const CHUNK_WRITES = 16; // chunk writes in flight at once
const READ_ATTEMPTS = 8; // heads followed while writers keep replacing the value under a reader
const GEN_RE = /^[0-9a-f]{24}$/;
const SHA_RE = /^[0-9a-f]{64}$/;
const MAX_CHUNKS = 65_536; // 4 GiB: anything claiming more is not ours
const LOCK_TTL_MS = 10_000; // a write lock whose holder died is gone after this long
const LOCK_WAIT_MS = LOCK_TTL_MS + 3_000; // memcached may keep an item up to 2 s past its TTL
const LOCK_ATTEMPTS = 1_000; // tries at a held lock (the wait is the bound in practice)
const LOCK_BACKOFF_MAX_MS = 25; // between tries: 1, 2, 4 ... ms (jittered), then this

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const headLine = (head: Head) => Buffer.from(`${JSON.stringify(head)}\n`);
const chunkKeys = (gen: string, n: number) => Array.from({ length: n }, (_, i) => metadataKeys.chunk(gen, i));

/** The write lock of the record under `key` (see the module comment). */
export const writeLockKey = (key: string): string => `${KEY_VERSION}|wlock|${sha256(Buffer.from(key))}`;

export interface WriteOptions {
  ttlMs?: number | undefined;
  /** How long to wait for another writer of the record to release its lock (tests). Default `LOCK_WAIT_MS`. */
  lockWaitMs?: number | undefined;
  /** Stored in the head: what `keep` is given of the value this one would replace. */
  order?: number | undefined;
  /**
   * Asked under the write lock with the replaced value's order (if it has one): true keeps that value, and this
   * write stores nothing (and resolves to false). Atomic with the write, against every writer of the record.
   */
  keep?: ((order: number) => boolean) | undefined;
}

/**
 * Writes `body` under `key` (chunked when it has to be), then deletes the chunks of the value it replaced. False
 * when `options.keep` kept the value there (nothing written).
 */
export async function writeRecord(kv: KeyValueStore, key: string, body: Buffer, options: WriteOptions = {}): Promise<boolean> {
  const setOptions = options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs };
  const meta: Head = { v: 1, bytes: body.length, sha256: sha256(body), ...(options.order !== undefined && { order: options.order }) };
  let head = Buffer.concat([headLine(meta), body]);
  let mine: { gen: string; n: number } | undefined;
  if (head.length > MAX_VALUE_BYTES) {
    mine = { gen: randomBytes(12).toString('hex'), n: Math.ceil(body.length / MAX_VALUE_BYTES) };
    const { gen, n } = mine;
    try {
      for (const part of slices(chunkKeys(gen, n).map((k, i) => [k, i] as const), CHUNK_WRITES)) {
        await Promise.all(part.map(([k, i]) => kv.set(k, body.subarray(i * MAX_VALUE_BYTES, (i + 1) * MAX_VALUE_BYTES), setOptions)));
      }
    } catch (err) {
      await deleteChunks(kv, gen, n);
      throw err;
    }
    head = headLine({ ...meta, gen, chunks: n });
  }
  let lock: Buffer;
  try {
    lock = await takeLock(kv, key, options.lockWaitMs ?? LOCK_WAIT_MS);
  } catch (err) {
    if (mine) await deleteChunks(kv, mine.gen, mine.n);
    throw err;
  }
  let prev: Head | undefined;
  let failure: { err: unknown } | undefined;
  let kept = false;
  try {
    const raw = await kv.get(key);
    prev = raw ? decodeHead(raw)?.head : undefined;
    kept = prev?.order !== undefined && options.keep !== undefined && options.keep(prev.order);
    if (!kept) await kv.set(key, head, setOptions);
  } catch (err) {
    failure = { err };
  }
  const held = await kv.deleteIf(writeLockKey(key), lock).catch(() => false);
  if (kept) {
    if (mine) await deleteChunks(kv, mine.gen, mine.n);
    return false;
  }
  // The lock lapsed under us (or the write failed): our head may already be replaced by a writer that never saw it.
  if ((failure || !held) && mine && !(await isHead(kv, key, head))) await deleteChunks(kv, mine.gen, mine.n);
  if (failure) throw failure.err;
  if (prev?.gen !== undefined && prev.gen !== mine?.gen) await deleteChunks(kv, prev.gen, prev.chunks ?? 0);
  return true;
}

/** Takes the write lock of `key`: the nonce to release it with. Bounded by `waitMs` and `LOCK_ATTEMPTS`. */
async function takeLock(kv: KeyValueStore, key: string, waitMs: number): Promise<Buffer> {
  const lockKey = writeLockKey(key);
  const nonce = Buffer.from(randomBytes(12).toString('hex'));
  const deadline = performance.now() + waitMs;
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (await kv.add(lockKey, nonce, { ttlMs: LOCK_TTL_MS })) return nonce;
    const left = deadline - performance.now();
    if (left <= 0) break;
    const backoff = Math.min(LOCK_BACKOFF_MAX_MS, 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
    await sleep(Math.min(left, backoff));
  }
  throw new CacheUnavailableError(`metadata record ${key} on ${kv.kind} (another writer held its write lock for over ${waitMs} ms)`);
}

/** Whether `head` is still what `key` holds; true when that cannot be told (its chunks are then kept). */
async function isHead(kv: KeyValueStore, key: string, head: Buffer): Promise<boolean> {
  return kv.get(key).then(
    (raw) => raw !== undefined && raw.equals(head),
    () => true,
  );
}

/** Best effort: a chunk left behind is unreachable (no head names it) and expires with its TTL, if any. */
async function deleteChunks(kv: KeyValueStore, gen: string, n: number): Promise<void> {
  try {
    for (const part of slices(chunkKeys(gen, n), CHUNK_WRITES)) await Promise.all(part.map((k) => kv.delete(k)));
  } catch {
    // Leftovers are only space (the backend is failing: whatever called this reports that, or has succeeded).
  }
}

/** The body stored under `key`, or undefined when absent, incomplete or not a record of ours. */
export async function readRecord(kv: KeyValueStore, key: string): Promise<Buffer | undefined> {
  return readFrom(kv, key, await kv.get(key));
}

/**
 * The bodies under `keys`, from one `getMany` of the heads (plus one per chunked value). Absent, incomplete and
 * unusable records are `undefined`.
 */
export async function readRecords(kv: KeyValueStore, keys: readonly string[]): Promise<Array<Buffer | undefined>> {
  const heads = await kv.getMany(keys);
  return Promise.all(heads.map((raw, i) => readFrom(kv, keys[i]!, raw)));
}

async function readFrom(kv: KeyValueStore, key: string, raw: Buffer | undefined): Promise<Buffer | undefined> {
  for (let attempt = 0; raw !== undefined && attempt < READ_ATTEMPTS; attempt++) {
    const r = await resolve(kv, raw);
    if (r === 'corrupt') return undefined;
    if (r !== 'missing') return r.body;
    // A chunk is gone: either the value was replaced (and its chunks deleted) while we read, or a chunk was
    // evicted or expired. Only a moved head is worth following.
    const again = await kv.get(key);
    if (again === undefined || again.equals(raw)) return undefined;
    raw = again;
  }
  return undefined;
}

async function resolve(kv: KeyValueStore, raw: Buffer): Promise<Resolved> {
  const decoded = decodeHead(raw);
  if (!decoded) return 'corrupt';
  const { head, inline } = decoded;
  let body = inline;
  if (head.gen !== undefined) {
    const parts = await kv.getMany(chunkKeys(head.gen, head.chunks!));
    if (parts.some((p) => p === undefined)) return 'missing';
    body = Buffer.concat(parts as Buffer[]);
  }
  if (!body || body.length !== head.bytes || sha256(body) !== head.sha256) return 'corrupt';
  return { body };
}

function decodeHead(raw: Buffer): Decoded | undefined {
  const nl = raw.indexOf(0x0a);
  if (nl < 0 || nl > 512) return undefined;
  let h: Partial<Head>;
  try {
    h = JSON.parse(raw.subarray(0, nl).toString('utf8')) as Partial<Head>;
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null || h.v !== 1 || typeof h.sha256 !== 'string' || !SHA_RE.test(h.sha256)) return undefined;
  if (typeof h.bytes !== 'number' || !Number.isSafeInteger(h.bytes) || h.bytes < 0) return undefined;
  const head: Head = { v: 1, bytes: h.bytes, sha256: h.sha256 };
  if (typeof h.order === 'number' && Number.isFinite(h.order)) head.order = h.order;
  if (h.gen === undefined && h.chunks === undefined) return { head, inline: raw.subarray(nl + 1) };
  const n = h.chunks;
  if (typeof h.gen !== 'string' || !GEN_RE.test(h.gen) || typeof n !== 'number' || !Number.isSafeInteger(n)) return undefined;
  if (n < 1 || n > MAX_CHUNKS || n !== Math.ceil(h.bytes / MAX_VALUE_BYTES) || raw.length !== nl + 1) return undefined;
  return { head: { ...head, gen: h.gen, chunks: n }, inline: undefined };
}
