/**
 * crane's inspection commands as a library: an image's manifest (or index), its config, its digest, read through
 * the store like a pull (each document fetched once, verified, kept; `offline` answers from the store alone), but
 * nothing written anywhere else and no layer fetched.
 */
import fs from 'node:fs';
import { verifyBytes } from '../digest/verifier.js';
import { throwIfAborted } from '../internal/abort.js';
import { InvalidManifestError } from '../oci/errors.js';
import { parseDocument } from '../oci/manifest.js';
import { availablePlatforms, type PlatformSpec } from '../oci/platform.js';
import { parseReference, type Reference } from '../reference/index.js';
import { fetchBlob } from './blobs.js';
import { unwrapFetchError } from './concurrency.js';
import { deadlineError, deadlineSignal } from './deadline.js';
import { fetchManifest } from './manifests.js';
import { platformOption, resolvePullOptions } from './options.js';
import { offlineDigest, recordRef } from './refs.js';
import { pickPlatform } from './resolve.js';
import { openSession } from './session.js';
import type { PullOptions, PullWarning } from './types.js';
import type { Descriptor } from '../oci/descriptor.js';

/** Configs larger than this are not image configs (an image config is KiBs; Docker's own limit is 8 MiB). */
export const MAX_CONFIG_BYTES = 16 << 20;

export type InspectOptions = Pick<PullOptions, 'cache' | 'client' | 'insecure' | 'authFile' | 'mirrors' | 'onRegistryEvent' | 'offline' | 'signal' | 'deadlineMs'> & {
  /**
   * `os/arch[/variant]`: for an index, follow it to that platform's manifest. Without it `manifest` and `digest`
   * answer for the reference itself (the index); `config`, which an index does not have, takes the host's.
   */
  platform?: string | PlatformSpec;
};

export interface InspectedDocument {
  /** The reference, canonical. */
  reference: string;
  /** The document answered for: the reference's own, or the platform's manifest picked from its index. */
  descriptor: Descriptor;
  /** Its bytes, exactly as the registry served them. */
  bytes: Buffer;
  /** The platform picked from an index, when one was. */
  platform?: string;
  /** What the read did that was not asked for: `MOTE_REF_NOT_RECORDED` (the tag could not be recorded, see below). */
  warnings: PullWarning[];
}

/** Runs `fn` in a session (read-only: it fetches into the store, writes no destination), under the deadline. */
async function inSession<T>(reference: string | Reference, options: InspectOptions, fn: (s: Awaited<ReturnType<typeof openSession>>['session'], ref: Reference) => Promise<T>): Promise<T> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const resolved = resolvePullOptions({ ...options, allPlatforms: true }); // validates; the platform is ours to read
  const { signal, deadline } = deadlineSignal(options.signal, resolved.deadlineMs);
  let session: Awaited<ReturnType<typeof openSession>> | undefined;
  let failed = true;
  try {
    session = await openSession(ref, { ...options, ...(signal && { signal }) });
    const result = await fn(session.session, ref);
    failed = false;
    return result;
  } catch (err) {
    throw deadlineError(unwrapFetchError(err), ref.toString(), resolved.deadlineMs, deadline, options.signal);
  } finally {
    await session?.close(failed);
  }
}

/**
 * The manifest or index `reference` names (by tag: as the registry resolves it now; offline: as last recorded).
 * Online, the tag is recorded as a pull records it (`mote images`, `--offline`): the document it resolved to is in
 * the store now. Not recording it (a cache this user may only read, a full disk) fails nothing; it is said.
 */
async function topDocument(s: Awaited<ReturnType<typeof openSession>>['session'], ref: Reference): Promise<InspectedDocument> {
  const digest = s.offline ? offlineDigest(s.local.root, ref) : ref.digest;
  const fetched = await fetchManifest(s, digest ?? ref.tag ?? 'latest');
  throwIfAborted(s.signal);
  const doc = parseDocument(fetched.bytes, fetched.descriptor.mediaType, fetched.descriptor.digest);
  const descriptor = { ...fetched.descriptor, mediaType: doc.mediaType };
  const warnings: PullWarning[] = [];
  if (!s.offline) {
    const platforms = doc.kind === 'index' ? availablePlatforms(doc.manifests) : [];
    await recordRef(s.local.root, ref, descriptor, platforms).catch((err: unknown) => {
      warnings.push({ code: 'MOTE_REF_NOT_RECORDED', message: `the tag was not recorded for mote images and --offline: ${String((err as Error)?.message ?? err)}` });
    });
  }
  return { reference: ref.toString(), descriptor, bytes: fetched.bytes, warnings };
}

/** `reference`'s manifest (for an index: the index, or with `platform` that platform's manifest), as served. */
export async function fetchImageManifest(reference: string | Reference, options: InspectOptions = {}): Promise<InspectedDocument> {
  return inSession(reference, options, async (s, ref) => {
    const top = await topDocument(s, ref);
    if (options.platform === undefined) return top;
    const want = platformOption(false, options.platform)!;
    const doc = parseDocument(top.bytes, top.descriptor.mediaType, top.descriptor.digest);
    if (doc.kind !== 'index') return top;
    const picked = await pickPlatform(s, top.descriptor, doc, want, top.bytes);
    return { reference: top.reference, descriptor: picked.descriptor, bytes: picked.bytes!, ...(picked.platform !== undefined && { platform: picked.platform }), warnings: top.warnings };
  });
}

/** The config blob of `reference`'s image (for an index: the platform's, default the host's). */
export async function fetchImageConfig(reference: string | Reference, options: InspectOptions = {}): Promise<InspectedDocument> {
  return inSession(reference, options, async (s, ref) => {
    const top = await topDocument(s, ref);
    const topDoc = parseDocument(top.bytes, top.descriptor.mediaType, top.descriptor.digest);
    const picked = topDoc.kind === 'index' ? await pickPlatform(s, top.descriptor, topDoc, platformOption(false, options.platform)!, top.bytes) : { doc: topDoc, platform: undefined };
    const doc = picked.doc;
    if (doc.kind !== 'manifest') throw new InvalidManifestError('no image manifest to take a config from', top.descriptor.digest);
    const config = doc.config;
    if (config.size > MAX_CONFIG_BYTES) throw new InvalidManifestError(`config ${config.digest} of ${config.size} bytes: more than ${MAX_CONFIG_BYTES} read`, top.descriptor.digest);
    await fetchBlob(s, config, 'config');
    const bytes = fs.readFileSync(s.lease.pathOf(config.digest)!);
    // Printed as it is read: checked again here (it is small), so a cache file damaged since it was stored is an
    // integrity error, never output (and the size, should the file have grown since the fetch checked it).
    verifyBytes(bytes, { digest: config.digest, size: config.size });
    const platform = picked.platform;
    return { reference: top.reference, descriptor: { mediaType: config.mediaType, digest: config.digest, size: bytes.length }, bytes, ...(platform !== undefined && { platform }), warnings: top.warnings };
  });
}

