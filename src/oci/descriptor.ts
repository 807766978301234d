/** OCI content descriptors and the platform of an index entry, and the one check every descriptor passes. */
import { parseDigest } from '../digest/index.js';
import { InvalidDescriptorError, InvalidDigestError } from '../errors.js';
import { quoted } from '../internal/describe.js';
import { isValidMediaType } from './media-types.js';

/** OCI platform of an image manifest in an index. */
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

/**
 * Checks one descriptor: `digest` parses, `size` is a whole number ≥ 0 (and at most `maxSize` when given),
 * `mediaType` is a media type, `urls` (if any) are strings, `platform` (if any) has string `os`/`architecture`.
 * Returns a clean copy holding only the known fields.
 * @throws InvalidDescriptorError
 */
export function validateDescriptor(value: unknown, where: string, maxSize?: number): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidDescriptorError(`${where}: not an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string') throw new InvalidDescriptorError(`${where}: digest missing`);
  try {
    parseDigest(d.digest);
  } catch (err) {
    if (err instanceof InvalidDigestError) throw new InvalidDescriptorError(`${where}: ${err.message}`);
    throw err;
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new InvalidDescriptorError(`${where}: size must be a whole number >= 0, got ${quoted(d.size)}`);
  }
  if (maxSize !== undefined && d.size > maxSize) throw new InvalidDescriptorError(`${where}: size ${d.size} is over the limit of ${maxSize} bytes`);
  if (!isValidMediaType(d.mediaType)) throw new InvalidDescriptorError(`${where}: bad media type ${quoted(d.mediaType)}`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls) || !d.urls.every((u) => typeof u === 'string')) throw new InvalidDescriptorError(`${where}: urls must be strings`);
    out.urls = [...(d.urls as string[])];
  }
  if (d.annotations !== undefined) {
    if (typeof d.annotations !== 'object' || d.annotations === null || Array.isArray(d.annotations)) {
      throw new InvalidDescriptorError(`${where}: annotations must be an object`);
    }
    out.annotations = { ...(d.annotations as Record<string, string>) };
  }
  if (d.platform !== undefined) {
    const p = d.platform as Partial<Platform> | null;
    if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw new InvalidDescriptorError(`${where}: platform needs string os and architecture`);
    }
    if (p.variant !== undefined && typeof p.variant !== 'string') throw new InvalidDescriptorError(`${where}: platform variant must be a string`);
    out.platform = { ...p } as Platform;
  }
  if (typeof d.artifactType === 'string') out.artifactType = d.artifactType;
  return out;
}
