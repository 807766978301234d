/**
 * Pull destinations: `oci:<dir>[:<tag>]` (an OCI image layout directory) and `oci-archive:<file>[:<tag>]` (a tar
 * of one).
 */
import path from 'node:path';
import { textOf } from '../../internal/describe.js';
import { isValidTag } from '../../oci/names.js';
import { InvalidDestinationError } from '../errors.js';

export type DestinationTransport = 'oci' | 'oci-archive';

export interface PullDestination {
  transport: DestinationTransport;
  /** The layout directory or the archive file (resolved to an absolute path by `pull`). */
  path: string;
  /** Recorded as `org.opencontainers.image.ref.name`. Default: the reference's tag; none for a digest-only reference. */
  tag?: string;
}

/**
 * Parses `oci:<dir>[:<tag>]` or `oci-archive:<file>[:<tag>]`. The part after the last `:` is the tag only when it
 * is a valid tag (and so has no `/`): `oci:/tmp/x:v1` is `/tmp/x` tagged `v1`, `oci:/tmp/a:b/c` is the directory
 * `/tmp/a:b/c`. (skopeo splits at the first `:` instead; a path holding a `:` is easier to name this way.)
 * @throws InvalidDestinationError for an unknown transport or an empty path.
 */
export function parseDestination(s: string): PullDestination {
  if (typeof s !== 'string' || s === '') throw new InvalidDestinationError(textOf(s), 'empty');
  const colon = s.indexOf(':');
  const transport = colon < 0 ? '' : s.slice(0, colon);
  if (transport !== 'oci' && transport !== 'oci-archive') {
    throw new InvalidDestinationError(s, 'expected oci:<dir>[:<tag>] or oci-archive:<file>[:<tag>]');
  }
  let rest = s.slice(colon + 1);
  let tag: string | undefined;
  const last = rest.lastIndexOf(':');
  if (last >= 0) {
    const candidate = rest.slice(last + 1);
    if (candidate === '') throw new InvalidDestinationError(s, 'empty tag after the last ":"');
    if (isValidTag(candidate)) {
      tag = candidate;
      rest = rest.slice(0, last);
    }
  }
  if (rest === '') throw new InvalidDestinationError(s, 'empty path');
  if (rest.includes('\0')) throw new InvalidDestinationError(s, 'NUL in path');
  return tag === undefined ? { transport, path: rest } : { transport, path: rest, tag };
}

/** `transport:path[:tag]`, the inverse of {@link parseDestination} for paths it would read back the same. */
export function formatDestination(d: PullDestination): string {
  return `${d.transport}:${d.path}${d.tag !== undefined ? `:${d.tag}` : ''}`;
}

/** Checks a destination object (as given to `pull`) and returns it with an absolute path. */
export function normalizeDestination(d: PullDestination, cwd = process.cwd()): PullDestination {
  const shown = typeof d === 'object' && d !== null ? formatDestination(d) : String(d);
  if (typeof d !== 'object' || d === null) throw new InvalidDestinationError(shown, 'not an object');
  if (d.transport !== 'oci' && d.transport !== 'oci-archive') throw new InvalidDestinationError(shown, 'transport must be oci or oci-archive');
  if (typeof d.path !== 'string' || d.path === '' || d.path.includes('\0')) throw new InvalidDestinationError(shown, 'bad path');
  if (d.tag !== undefined && (typeof d.tag !== 'string' || !isValidTag(d.tag))) throw new InvalidDestinationError(shown, `invalid tag ${JSON.stringify(d.tag)}`);
  const out: PullDestination = { transport: d.transport, path: path.resolve(cwd, d.path) };
  if (d.tag !== undefined) out.tag = d.tag;
  return out;
}
