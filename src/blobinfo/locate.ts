/**
 * Locating layers: where a layer blob was seen, as references (the original's RecordLayerSource, LocateLayer,
 * LocateLayerDigest and LayerBlobInfo / SourceProvider).
 */
import { InvalidDescriptorError, InvalidDigestError } from '../errors.js';
import { validateDigest, isDigest } from '../digest/index.js';
import { parseReference, type Reference } from '../reference/index.js';
import type { BlobInfoCache } from './types.js';

/** The scope layer locations are recorded in (the original's `LayerContent`). */
export const LAYER_SCOPE = 'Layer';

/** What these functions need of a descriptor: its digest (size and media type are not used). */
export interface LayerDescriptor {
  digest: string;
  mediaType?: string;
  size?: number;
}

function descriptorDigest(descriptor: LayerDescriptor): string {
  if (typeof descriptor !== 'object' || descriptor === null) throw new InvalidDescriptorError('not an object');
  if (!isDigest(descriptor.digest)) {
    throw new InvalidDescriptorError(`digest ${JSON.stringify(String(descriptor.digest)).slice(0, 200)} is not a valid digest`);
  }
  return descriptor.digest;
}

const asReference = (r: Reference | string): Reference => (typeof r === 'string' ? parseReference(r) : r);

/**
 * The transport of every location recorded here. A parsed, canonical reference is always a registry reference
 * (`transportFromImageName` of it is `oci`), so the constant is used: deriving it from the reference string
 * would file a registry host named `dir:5000` under the `dir` transport, where no lookup finds it.
 */
const REGISTRY_TRANSPORT = 'oci';

/**
 * Records that the layer `descriptor` (manifest level: as stored, possibly compressed or encrypted) can be
 * found at `sourceRef`: location = the reference's canonical string, scope `Layer`, transport `oci` (see
 * REGISTRY_TRANSPORT). A missing cache (`undefined`) is tolerated, as in the original.
 */
export async function recordLayerSource(
  bic: BlobInfoCache | undefined,
  descriptor: LayerDescriptor,
  sourceRef: Reference | string,
): Promise<void> {
  const digest = descriptorDigest(descriptor);
  const location = asReference(sourceRef).toString();
  if (bic) await bic.recordKnownLocation(REGISTRY_TRANSPORT, LAYER_SCOPE, digest, location);
}

/**
 * Known locations of the layer, as references, newest first. Only the exact digest (no substitution: a
 * cross-repository mount needs the same bytes). Stored locations that do not parse as references are skipped.
 * With `matchRegistry`, only references on `destRef`'s registry (the ones a cross-repository mount can use).
 */
export async function locateLayer(
  bic: BlobInfoCache,
  descriptor: LayerDescriptor,
  destRef: Reference | string,
  matchRegistry: boolean,
): Promise<Reference[]> {
  return locate(bic, descriptorDigest(descriptor), asReference(destRef), matchRegistry);
}

/** {@link locateLayer} by digest (`InvalidDigestError` if it is not one). */
export async function locateLayerDigest(
  bic: BlobInfoCache,
  digest: string,
  destRef: Reference | string,
  matchRegistry: boolean,
): Promise<Reference[]> {
  return locate(bic, validateDigest(digest), asReference(destRef), matchRegistry);
}

async function locate(bic: BlobInfoCache, digest: string, dest: Reference, matchRegistry: boolean): Promise<Reference[]> {
  const candidates = await bic.candidateLocations(REGISTRY_TRANSPORT, LAYER_SCOPE, digest, { canSubstitute: false });
  const out: Reference[] = [];
  for (const c of candidates) {
    let ref: Reference;
    try {
      ref = parseReference(c.location);
    } catch {
      continue; // a bad entry (written by something else) is not fatal
    }
    if (matchRegistry && ref.registry !== dest.registry) continue;
    out.push(ref);
  }
  return out;
}

/**
 * The layers of an image, able to say where each can be fetched from (the original's `SourceProvider`).
 * Accepts descriptors or digests; duplicates are looked up once.
 */
export class LayerBlobInfo {
  readonly layerDigests: readonly string[];

  constructor(descriptors: Iterable<LayerDescriptor | string>) {
    const seen = new Set<string>();
    for (const d of descriptors) {
      if (typeof d === 'string') {
        if (!isDigest(d)) throw new InvalidDigestError(d, 'not a valid layer digest');
        seen.add(d);
      } else seen.add(descriptorDigest(d));
    }
    this.layerDigests = [...seen];
  }

  /** Each layer digest -> every known source reference (canonical strings, newest first; `[]` if none). */
  async getSources(bic: BlobInfoCache): Promise<Map<string, string[]>> {
    const sources = new Map<string, string[]>();
    for (const digest of this.layerDigests) {
      const candidates = await bic.candidateLocations(REGISTRY_TRANSPORT, LAYER_SCOPE, digest, { canSubstitute: false });
      const refs: string[] = [];
      for (const c of candidates) {
        try {
          refs.push(parseReference(c.location).toString());
        } catch {
          /* skipped */
        }
      }
      sources.set(digest, refs);
    }
    return sources;
  }
}
