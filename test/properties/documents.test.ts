/**
 * Properties of the parsers of documents: manifests and indexes (`parseDocument`, `validateDescriptor`), OCI
 * layout files (`checkOciLayoutFile`, `parseLayoutIndex` / `serializeIndex`) and pull destinations
 * (`parseDestination` / `formatDestination`). Any input gives a value or the typed error; round trips hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MoteError } from '../../src/errors.js';
import { validateDescriptor } from '../../src/oci/descriptor.js';
import { checkOciLayoutFile, parseLayoutIndex, serializeIndex } from '../../src/oci/image-layout.js';
import { parseDocument } from '../../src/oci/manifest.js';
import { MediaType, isIndexMediaType } from '../../src/oci/media-types.js';
import { formatDestination, parseDestination, type PullDestination } from '../../src/pull/destination/parse.js';
import { PROTO_KEYS, anyString, digest, hostileJsonText, mutated, outcome, runs, withField } from './support.js';

const DOCUMENT_CODES = ['ERR_INVALID_MANIFEST', 'ERR_INVALID_DESCRIPTOR'];
const knownType = fc.constantFrom(...Object.values(MediaType), 'application/octet-stream', 'application/json');

const descriptor = fc.record(
  {
    mediaType: knownType,
    digest,
    size: fc.oneof(fc.nat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
    annotations: fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...PROTO_KEYS)), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
    platform: fc.record({ os: fc.constantFrom('linux', 'windows'), architecture: fc.constantFrom('amd64', 'arm64'), variant: fc.constantFrom('v7', 'v8') }, { requiredKeys: ['os', 'architecture'] }),
    urls: fc.array(fc.webUrl(), { maxLength: 2 }),
    artifactType: knownType,
  },
  { requiredKeys: ['mediaType', 'digest', 'size'] },
);
const DESCRIPTOR_FIELDS = ['mediaType', 'digest', 'size', 'annotations', 'platform', 'urls'];

/** A descriptor as JSON text: valid, or with one field replaced by hostile JSON. */
const descriptorText = fc.oneof(
  descriptor.map((d) => JSON.stringify(d)),
  fc.tuple(descriptor, fc.constantFrom(...DESCRIPTOR_FIELDS), hostileJsonText).map(([d, f, v]) => withField(d, f, v)),
);
const list = fc.array(descriptorText, { maxLength: 3 }).map((items) => `[${items.join(',')}]`);

/** Manifests and indexes as JSON text: valid, with a hostile descriptor, or with a top-level field replaced. */
const documentText = fc.oneof(
  fc.record({ type: fc.option(knownType), config: descriptorText, layers: list }).map(
    ({ type, config, layers }) => `{"schemaVersion":2,${type === null ? '' : `"mediaType":${JSON.stringify(type)},`}"config":${config},"layers":${layers}}`,
  ),
  fc.record({ type: fc.option(knownType), manifests: list }).map(
    ({ type, manifests }) => `{"schemaVersion":2,${type === null ? '' : `"mediaType":${JSON.stringify(type)},`}"manifests":${manifests}}`,
  ),
  fc
    .tuple(fc.record({ schemaVersion: fc.constant(2), manifests: fc.array(descriptor, { maxLength: 2 }) }), fc.constantFrom('schemaVersion', 'mediaType', 'manifests', 'config', 'layers'), hostileJsonText)
    .map(([doc, field, value]) => withField(doc, field, value)),
);
const documentBytes = fc.oneof(
  mutated(documentText).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  anyString(200).map((s) => Buffer.from(s)),
);

const isJsonText = (v: unknown): v is { json: string } =>
  typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as { json?: unknown }).json === 'string';

describe('manifests and indexes', () => {
  it('parseDocument: a manifest or index of valid descriptors, or a typed error', () => {
    fc.assert(
      fc.property(documentBytes, fc.option(fc.oneof(knownType, anyString(40))), (bytes, served) => {
        const doc = outcome(() => parseDocument(bytes, served ?? undefined), DOCUMENT_CODES);
        if (doc instanceof MoteError) return;
        expect(isIndexMediaType(doc.mediaType)).toBe(doc.kind === 'index');
        JSON.stringify(doc); // what pull keeps of it is written to index.json: it must serialise
        const all = doc.kind === 'index' ? doc.manifests : [doc.config, ...doc.layers];
        for (const d of all) expect(validateDescriptor(d, 'again')).toEqual(d);
      }),
      runs(0xd0c1, 300),
    );
  });

  it('validateDescriptor: a clean descriptor that validates to itself, or ERR_INVALID_DESCRIPTOR, for any value', () => {
    // Parsed JSON is generated as its text (and parsed in the property): deeply nested values are too deep for
    // fast-check to print as a counterexample.
    const value = fc.oneof(descriptor, fc.anything({ withNullPrototype: true, withBigInt: true }), descriptorText.map((json) => ({ json })));
    fc.assert(
      fc.property(value, fc.option(fc.nat()), (generated, max) => {
        const v = isJsonText(generated) ? JSON.parse(generated.json) : generated;
        const d = outcome(() => validateDescriptor(v, 'where', max ?? undefined), ['ERR_INVALID_DESCRIPTOR']);
        if (d instanceof MoteError) return;
        expect(validateDescriptor(d, 'again')).toEqual(d);
        if (max !== null) expect(d.size).toBeLessThanOrEqual(max);
      }),
      runs(0xd0c2, 300),
    );
  });
});

describe('OCI layout files', () => {
  it('checkOciLayoutFile: nothing or ERR_INVALID_LAYOUT', () => {
    const layout = fc.oneof(
      fc.constant('{"imageLayoutVersion":"1.0.0"}'),
      hostileJsonText.map((v) => `{"imageLayoutVersion":${v}}`),
      hostileJsonText,
    );
    fc.assert(
      fc.property(fc.oneof(mutated(layout), anyString(100)), (s) => {
        outcome(() => checkOciLayoutFile(Buffer.from(s), 'layout'), ['ERR_INVALID_LAYOUT']);
      }),
      runs(0x1a1, 500),
    );
  });

  it('parseLayoutIndex: an index or ERR_INVALID_LAYOUT; serializeIndex of it parses back to the same', () => {
    const index = fc.oneof(
      fc.tuple(list, fc.json({ maxDepth: 2 })).map(([manifests, extra]) => `{"schemaVersion":2,"extra":${extra},"manifests":${manifests}}`),
      documentText,
    );
    fc.assert(
      fc.property(fc.oneof(mutated(index).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 100 })), (bytes) => {
        const parsed = outcome(() => parseLayoutIndex(bytes, 'layout'), ['ERR_INVALID_LAYOUT']);
        if (parsed instanceof MoteError) return;
        const text = serializeIndex(parsed);
        expect(serializeIndex(parseLayoutIndex(Buffer.from(text), 'again'))).toBe(text);
      }),
      runs(0x1a2, 500),
    );
  });
});

describe('destinations', () => {
  const validTag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
  const pathLike = fc.oneof(fc.string({ unit: fc.constantFrom('/', '.', ':', 'a', 'b', '-', ' ', '\0', 'é'), minLength: 1, maxLength: 20 }), anyString(30));
  const destination = fc
    .record({ transport: fc.constantFrom('oci', 'oci-archive', 'docker', 'OCI', ''), path: pathLike, tag: fc.option(fc.oneof(validTag, anyString(10))) })
    .map(({ transport, path, tag }) => `${transport}:${path}${tag === null ? '' : `:${tag}`}`);

  it('parseDestination: a destination or ERR_INVALID_DESTINATION; formatting it parses back to the same', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(destination), anyString(100)), (s) => {
        const d = outcome(() => parseDestination(s), ['ERR_INVALID_DESTINATION']);
        if (d instanceof MoteError) return;
        expect(d.path).not.toBe('');
        expect(d.path).not.toContain('\0');
        expect(parseDestination(formatDestination(d))).toEqual(d);
      }),
      runs(0xde1, 1000),
    );
  });

  it('a tagged destination with any usable path formats to a string that parses back to it', () => {
    const usablePath = pathLike.filter((p) => p !== '' && !p.includes('\0'));
    fc.assert(
      fc.property(fc.constantFrom('oci' as const, 'oci-archive' as const), usablePath, validTag, (transport, path, tag) => {
        const d: PullDestination = { transport, path, tag };
        expect(parseDestination(formatDestination(d))).toEqual(d);
      }),
      runs(0xde2, 500),
    );
  });
});
