/** Descriptor validation (src/oci/descriptor.ts) and manifest/index parsing (src/oci/manifest.ts). */
import { describe, expect, it } from 'vitest';
import { InvalidManifestError } from '../../src/oci/errors.js';
import { MAX_JSON_DEPTH } from '../../src/oci/json.js';
import { parseDocument } from '../../src/oci/manifest.js';
import { validateDescriptor } from '../../src/oci/descriptor.js';
import { MediaType } from '../../src/oci/media-types.js';
import { D, entry } from '../helpers/descriptors.js';

describe('validateDescriptor / parseDocument', () => {
  const good = { mediaType: MediaType.OciLayerTarGzip, digest: D('1'), size: 5 };

  it('accepts a valid descriptor and keeps only known fields', () => {
    expect(validateDescriptor({ ...good, extra: 1, urls: ['https://x'] }, 'x')).toEqual({ ...good, urls: ['https://x'] });
  });

  it.each([
    ['a bad digest', { ...good, digest: 'sha256:../../etc/passwd' }],
    ['an uppercase digest', { ...good, digest: D('A') }],
    ['a negative size', { ...good, size: -1 }],
    ['a fractional size', { ...good, size: 1.5 }],
    ['an unsafe size', { ...good, size: 2 ** 60 }],
    ['a string size', { ...good, size: '5' }],
    ['no media type', { digest: good.digest, size: 5 }],
    ['a media type with a parameter', { ...good, mediaType: 'text/plain; charset=utf-8' }],
    ['non-string urls', { ...good, urls: [1] }],
    ['a platform without os', { ...good, platform: { architecture: 'amd64' } }],
  ])('refuses %s', (_what, value) => {
    expect(() => validateDescriptor(value, 'layers[0]')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_DESCRIPTOR' }));
  });

  const manifest = (extra: object = {}): Buffer =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { ...good, mediaType: MediaType.OciConfig }, layers: [good], ...extra }));

  it('parses manifests and indexes, by served type, own type or shape', () => {
    expect(parseDocument(manifest(), MediaType.OciManifest)).toMatchObject({ kind: 'manifest', layers: [good] });
    expect(parseDocument(manifest(), 'application/json')).toMatchObject({ kind: 'manifest', mediaType: MediaType.OciManifest });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [entry('a', { os: 'linux', architecture: 'amd64' })] }));
    expect(parseDocument(index, MediaType.DockerManifestList)).toMatchObject({ kind: 'index', mediaType: MediaType.DockerManifestList });
    expect(parseDocument(index, undefined)).toMatchObject({ kind: 'index', mediaType: MediaType.OciIndex });
  });

  it('refuses what it cannot trust', () => {
    expect(() => parseDocument(Buffer.from('{'), MediaType.OciManifest)).toThrow(InvalidManifestError);
    expect(() => parseDocument(Buffer.from('{"schemaVersion":1}'), undefined)).toThrow(InvalidManifestError);
    expect(() => parseDocument(manifest(), MediaType.OciIndex)).toThrow(/served as/);
    expect(() => parseDocument(manifest({ layers: [{ ...good, size: -5 }] }), MediaType.OciManifest)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_DESCRIPTOR' }),
    );
    expect(() => parseDocument(Buffer.from('{"schemaVersion":2,"mediaType":"text/plain"}'), undefined)).toThrow(/unsupported media type/);
  });

  // Found by test/properties/documents.test.ts: the message quoting the bad value threw instead (RangeError on
  // nesting deeper than the stack; TypeError on a BigInt), and its length had no bound.
  it('refuses values it cannot even print with its own typed error, and a bounded message', () => {
    const typed = (code: string) => expect.objectContaining({ code, message: expect.stringMatching(/^.{0,400}$/s) });
    let deep: unknown = 0;
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(() => validateDescriptor({ ...good, size: deep }, 'w')).toThrow(typed('ERR_INVALID_DESCRIPTOR'));
    expect(() => validateDescriptor({ ...good, mediaType: deep }, 'w')).toThrow(typed('ERR_INVALID_DESCRIPTOR'));
    expect(() => validateDescriptor({ ...good, size: 5n }, 'w')).toThrow(typed('ERR_INVALID_DESCRIPTOR'));
    expect(() => validateDescriptor({ ...good, mediaType: 'x'.repeat(1 << 20) }, 'w')).toThrow(typed('ERR_INVALID_DESCRIPTOR'));
  });

  // Found by test/properties/documents.test.ts: a document JSON.parse takes, nested deeper than JSON.stringify can
  // go, was accepted; what pull keeps of it (a descriptor's annotations, platform) then failed to be written to an
  // index.json with a RangeError.
  it('refuses documents nested deeper than MAX_JSON_DEPTH, wherever the depth is', () => {
    const deep = (n: number) => '{"a":'.repeat(n) + '0' + '}'.repeat(n);
    const d = `"mediaType":"${good.mediaType}","digest":"${good.digest}","size":5`;
    const docs = [
      `{"schemaVersion":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
      `{"schemaVersion":2,"manifests":[{${d},"annotations":{"x":${deep(20_000)}}}]}`,
      `{"schemaVersion":2,"manifests":[{${d},"platform":{"os":"linux","architecture":"amd64","x":${deep(20_000)}}}]}`,
      `{"schemaVersion":2,"manifests":[{${d},"annotations":{"x":${deep(MAX_JSON_DEPTH)}}}]}`,
    ];
    for (const doc of docs) {
      expect(() => parseDocument(Buffer.from(doc), undefined)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_MANIFEST', message: expect.stringContaining('nested deeper') }));
    }
    // Brackets inside strings are not nesting; a document at the limit is taken.
    const withBrackets = `{"schemaVersion":2,"manifests":[{${d},"annotations":{"x":"${'['.repeat(1000)}"}}]}`;
    expect(parseDocument(Buffer.from(withBrackets), undefined).kind).toBe('index');
    const atLimit = `{"schemaVersion":2,"manifests":[{${d},"platform":{"os":"linux","architecture":"amd64","x":${deep(MAX_JSON_DEPTH - 4)}}}]}`;
    expect(JSON.stringify(parseDocument(Buffer.from(atLimit), undefined))).toContain('"x"');
  });
});
