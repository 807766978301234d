/**
 * Image names of a copy, as skopeo writes them: `docker://REFERENCE` (a registry, through the mote store),
 * `oci:DIR[:TAG]` and `oci-archive:FILE[:TAG]` (parsed as `pull`'s destinations are).
 */
import { InvalidArgumentError } from '../errors.js';
import { normalizeDestination, parseDestination, type PullDestination } from '../pull/destination/parse.js';
import { parseReference, type Reference } from '../reference/index.js';

export type CopyEndpoint = { transport: 'docker'; ref: Reference } | PullDestination;

/** Parses `docker://REF`, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]` (a path made absolute). */
export function parseEndpoint(name: string, what: 'source' | 'destination'): CopyEndpoint {
  if (typeof name !== 'string') throw new InvalidArgumentError(`copy: the ${what} must be a string`);
  if (name.startsWith('docker://')) return { transport: 'docker', ref: parseReference(name.slice('docker://'.length)) };
  if (name.startsWith('oci:') || name.startsWith('oci-archive:')) return normalizeDestination(parseDestination(name));
  throw new InvalidArgumentError(`copy: the ${what} ${JSON.stringify(name.slice(0, 200))} is not docker://REFERENCE, oci:DIR[:TAG] or oci-archive:FILE[:TAG]`);
}

export function formatEndpoint(e: CopyEndpoint): string {
  return e.transport === 'docker' ? `docker://${e.ref.toString()}` : `${e.transport}:${e.path}${e.tag !== undefined ? `:${e.tag}` : ''}`;
}
