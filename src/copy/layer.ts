/**
 * One layer into another compression: a variant the store already holds is substituted (found through the
 * blob-info cache's variant tables, checked present in the store); else the layer is read from the store once,
 * decompressed, the uncompressed bytes hashed against the config's diff_id, compressed, and kept in the store
 * (hashed there by its own digest) — a diff_id mismatch fails the stream before the store publishes anything.
 * Every form is then recorded: the pair (variant, diff_id), its transformer name, its place in the store.
 */
import fs from 'node:fs';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MOTE_TRANSPORT, moteScope } from '../blobinfo/store-cache.js';
import { DigestMismatchError, MoteNotFoundError } from '../errors.js';
import { Verifier } from '../digest/verifier.js';
import type { Descriptor } from '../oci/descriptor.js';
import { compressor, decompressor, TRANSFORMER_NAME, type Compression } from './codecs.js';
import type { CopySession } from './session.js';

export interface Variant {
  digest: string;
  size: number;
  substituted: boolean;
}

/** `layer` (in `from`) as `to`; its uncompressed digest must be `diffId`. */
export async function layerVariant(
  s: CopySession,
  layer: Descriptor,
  form: { from: Compression; to: Compression; mediaType: string; level: number | undefined },
  diffId: string,
): Promise<Variant> {
  const { from, to, mediaType, level } = form;
  const known = await knownVariant(s, diffId, to);
  if (known) return { ...known, substituted: true };
  const info = await convert(s, layer, from, to, diffId, level ?? 0, mediaType);
  await record(s, [
    [info.digest, to],
    [layer.digest, from],
  ], diffId);
  return { digest: info.digest, size: info.size, substituted: false };
}

/** A variant of `diffId` in form `to` that is in the store now (then held), from the blob-info cache. */
async function knownVariant(s: CopySession, diffId: string, to: Compression): Promise<{ digest: string; size: number } | undefined> {
  const candidates = await s.blobInfo.candidateLocations(MOTE_TRANSPORT, moteScope(s.local), diffId, { canSubstitute: true }).catch(() => []);
  const name = TRANSFORMER_NAME[to];
  for (const c of candidates) {
    const matches = to === 'none' ? c.digest === diffId : c.transformerName === name && c.digest !== diffId;
    if (!matches || !s.lease.hold(c.digest)) continue;
    const size = (await fs.promises.stat(s.pathOf(c.digest))).size;
    return { digest: c.digest, size };
  }
  return undefined;
}

async function convert(s: CopySession, layer: Descriptor, from: Compression, to: Compression, diffId: string, level: number, mediaType: string): Promise<{ digest: string; size: number }> {
  if (from === 'none' && layer.digest !== diffId) throw new DigestMismatchError(diffId, layer.digest);
  const stages: (Readable | Transform)[] = [fs.createReadStream(s.pathOf(layer.digest), { highWaterMark: 1 << 20 })];
  if (from !== 'none') {
    stages.push(decompressor(from));
    // Hashed here only when the store will not hash the same bytes under the same digest (output `none`).
    if (to !== 'none') stages.push(new DiffIdCheck(diffId));
  }
  if (to !== 'none') stages.push(compressor(to, level));
  // Any stage's failure (a corrupt stream, a diff_id mismatch) destroys `source`, so the store's put fails.
  const source = new PassThrough();
  pipeline([...stages, source] as unknown as NodeJS.ReadWriteStream[]).catch(() => {});
  const info = await s.local.put(source, {
    ...(to === 'none' && { digest: diffId }),
    mediaType,
    ...(s.signal && { signal: s.signal }),
  });
  // Only a prune to nearly nothing, between the put and this hold, takes the newest mote away: said clearly.
  if (!s.lease.hold(info.digest)) throw new MoteNotFoundError(info.digest, 'removed from the store while copying');
  return { digest: info.digest, size: info.size };
}

/** Hashes what passes; at the end, a digest other than the diff_id fails the stream (DigestMismatchError). */
class DiffIdCheck extends Transform {
  readonly #verifier: Verifier;
  constructor(diffId: string) {
    super();
    this.#verifier = new Verifier({ digest: diffId });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#verifier.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    try {
      this.#verifier.verify();
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** Records each form of the layer: its pair with the diff_id, its transformer, its place in the store. */
async function record(s: CopySession, forms: [string, Compression][], diffId: string): Promise<void> {
  const b = s.blobInfo;
  const scope = moteScope(s.local);
  try {
    for (const [digest, form] of forms) {
      await b.recordDigestUntransformedPair(digest, diffId);
      await b.recordDigestTransformerName(digest, TRANSFORMER_NAME[form]);
      await b.recordKnownLocation(MOTE_TRANSPORT, scope, digest, s.local.moteRef(digest));
    }
  } catch {
    /* the blob-info cache is a hint: a copy that cannot record still succeeds */
  }
}
