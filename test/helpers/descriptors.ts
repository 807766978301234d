/** Made-up descriptors for the OCI and pull unit tests: `D('a')` is `sha256:aaa…a`, `entry` a manifest descriptor of it. */
import type { Descriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/media-types.js';

export const D = (c: string): string => `sha256:${c.repeat(64)}`;
export const entry = (c: string, platform?: Descriptor['platform']): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: D(c),
  size: 100,
  ...(platform && { platform }),
});
