/** OCI and Docker media types, and the sets `pull` and the registry client decide by. */

export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerTarGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The media type of bytes nobody described (a blob written without one, a registry's blob HEAD). */
export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

/**
 * Sent as `Accept` on every manifest request. The OCI types must be there: distribution answers an OCI manifest
 * requested without them with `404 MANIFEST_UNKNOWN`, even by digest.
 */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OciManifest,
  MediaType.OciIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList]);
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest]);

/** Media types of layers that must not be pushed elsewhere and are usually not in the registry (see `urls`). */
export const FOREIGN_LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export function isIndexMediaType(t: string): boolean {
  return INDEX_MEDIA_TYPES.has(t);
}

export function isManifestMediaType(t: string): boolean {
  return MANIFEST_MEDIA_TYPES.has(t);
}

// RFC 6838 type/subtype (restricted-name), as the OCI spec requires; parameters are not allowed in descriptors.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export function isValidMediaType(t: unknown): t is string {
  return typeof t === 'string' && MEDIA_TYPE_RE.test(t);
}

/** The media type of a `Content-Type` value (parameters dropped), or undefined if there is none. */
export function mediaTypeOfContentType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim() || undefined;
}
