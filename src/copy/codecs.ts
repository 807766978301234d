/**
 * Layer compression: what form a layer's media type says it is in, the media type of each form, and the streams
 * that decompress and compress. zstd comes from `node:zlib` when the runtime has it (Node 22.15+), else from
 * `zstd-napi` (Node 20 has no zstd), loaded only when a zstd layer is met. zstd:chunked is never produced: such a
 * layer (its manifest annotation) is passed through untouched.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/descriptor.js';

/** A layer's compression; `'none'` is a plain tar. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** The blob-info cache's transformer names of each form. */
export const TRANSFORMER_NAME: Record<Compression, string> = { gzip: 'gzip', zstd: 'zstd', none: 'untransformed' };

/** Annotation containers/storage puts on a zstd:chunked layer (its table of contents). */
export const ZSTD_CHUNKED_ANNOTATION = 'io.github.containers.zstd-chunked.manifest-checksum';

const DOCKER_LAYER_TAR = 'application/vnd.docker.image.rootfs.diff.tar';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

const FORMS: ReadonlyMap<string, Compression> = new Map([
  [MediaType.OciLayerTarGzip, 'gzip'],
  [MediaType.OciLayerTar, 'none'],
  [OCI_LAYER_ZSTD, 'zstd'],
  [MediaType.DockerLayer, 'gzip'],
  [DOCKER_LAYER_TAR, 'none'],
]);

/** The form of an image layer, or undefined for anything else (artifacts, foreign layers, zstd:chunked): left as is. */
export function layerCompression(d: Descriptor): Compression | undefined {
  if (d.annotations?.[ZSTD_CHUNKED_ANNOTATION] !== undefined) return undefined;
  return FORMS.get(d.mediaType);
}

/** The media type of a layer in `form`, in a Docker or an OCI manifest (Docker has no zstd: see `needsOci`). */
export function layerMediaType(form: Compression, docker: boolean): string {
  if (docker && form === 'gzip') return MediaType.DockerLayer;
  if (docker && form === 'none') return DOCKER_LAYER_TAR;
  return form === 'gzip' ? MediaType.OciLayerTarGzip : form === 'zstd' ? OCI_LAYER_ZSTD : MediaType.OciLayerTar;
}

type ZlibWithZstd = typeof zlib & {
  createZstdCompress?: (o?: { params?: Record<number, number> }) => Transform;
  createZstdDecompress?: () => Transform;
  constants: typeof zlib.constants & { ZSTD_c_compressionLevel?: number };
};
const z = zlib as ZlibWithZstd;

interface ZstdNapi {
  CompressStream: new (p?: { compressionLevel?: number }) => Transform;
  DecompressStream: new () => Transform;
}
let napi: ZstdNapi | undefined;
const zstdNapi = (): ZstdNapi => (napi ??= createRequire(import.meta.url)('zstd-napi') as ZstdNapi);

/** Where zstd comes from in this process. */
export function zstdImplementation(): 'node:zlib' | 'zstd-napi' {
  return typeof z.createZstdCompress === 'function' ? 'node:zlib' : 'zstd-napi';
}

/** zlib's output chunks: 256 KiB instead of 16 KiB, so a large layer is fewer, larger writes down the pipeline. */
const CHUNK = 256 << 10;

export function decompressor(form: Exclude<Compression, 'none'>): Transform {
  if (form === 'gzip') return zlib.createGunzip({ chunkSize: CHUNK });
  if (typeof z.createZstdDecompress === 'function') return z.createZstdDecompress();
  return new (zstdNapi().DecompressStream)();
}

export function compressor(form: Exclude<Compression, 'none'>, level: number): Transform {
  if (form === 'gzip') return zlib.createGzip({ level, chunkSize: CHUNK });
  if (typeof z.createZstdCompress === 'function' && z.constants.ZSTD_c_compressionLevel !== undefined) {
    return z.createZstdCompress({ params: { [z.constants.ZSTD_c_compressionLevel]: level } });
  }
  return new (zstdNapi().CompressStream)({ compressionLevel: level });
}
