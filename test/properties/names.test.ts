/**
 * Properties of the parsers of names: digests, references, the name grammar, media types, platforms. Any input
 * gives a value or the parser's typed error (the predicates: a boolean), and what parses survives its round trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDigest, parseDigest, ALGORITHMS } from '../../src/digest/index.js';
import { MoteError } from '../../src/errors.js';
import { isValidMediaType, MediaType } from '../../src/oci/media-types.js';
import { isValidRegistryHost, isValidRepository, isValidTag, MAX_NAME_LENGTH } from '../../src/oci/names.js';
import { formatPlatform, parsePlatform } from '../../src/oci/platform.js';
import { isReference, parseReference } from '../../src/reference/index.js';
import { PROTO_KEYS, anyString, digest, mutated, outcome, runs } from './support.js';

const alnum = (max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: max });
const separator = fc.constantFrom('.', '_', '__', '-', '--');
const pathComponent = fc
  .tuple(alnum(6), fc.array(fc.tuple(separator, alnum(6)), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([s, c]) => s + c).join(''));
const repository = fc.array(pathComponent, { minLength: 1, maxLength: 3 }).map((c) => c.join('/'));
const domainComponent = fc.oneof(alnum(8), fc.tuple(alnum(4), alnum(4)).map(([a, b]) => `${a}-${b}`));
const registry = fc.oneof(
  fc.constantFrom('docker.io', 'index.docker.io', 'localhost', 'localhost:5000', 'ghcr.io', '[::1]:5000', '127.0.0.1:5000'),
  fc
    .tuple(fc.array(domainComponent, { minLength: 1, maxLength: 3 }), fc.constantFrom('com', 'io', 'example'), fc.option(fc.integer({ min: 1, max: 65535 })))
    .map(([parts, tld, port]) => `${[...parts, tld].join('.')}${port === null ? '' : `:${port}`}`),
);
const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
/**
 * References built from valid parts: all of them must parse. Without a registry, a first component that looks like
 * a host (has a `.`, a `:`, or is `localhost`) would be read as the registry, so none is made.
 */
const validReference = fc
  .record({ registry: fc.option(registry), repository, tag: fc.option(tag), digest: fc.option(digest) })
  .filter((r) => r.registry !== null || !r.repository.includes('/') || !/[.:]|^localhost\//.test(r.repository.split('/')[0]! + '/'))
  .map((r) => `${r.registry === null ? '' : `${r.registry}/`}${r.repository}${r.tag === null ? '' : `:${r.tag}`}${r.digest === null ? '' : `@${r.digest}`}`);

describe('digests', () => {
  it('parseDigest: a digest of a supported algorithm, or ERR_INVALID_DIGEST; isDigest agrees and never throws', () => {
    const input = fc.oneof(anyString(200), mutated(digest), fc.anything({ withNullPrototype: true, withBigInt: true, withBoxedValues: true }));
    fc.assert(
      fc.property(input, (s) => {
        const r = outcome(() => parseDigest(s), ['ERR_INVALID_DIGEST']);
        expect(isDigest(s)).toBe(!(r instanceof MoteError));
        if (r instanceof MoteError) return;
        // What parses is exactly `<algorithm>:<lowercase hex of the algorithm's length>`: safe as a file name.
        expect(`${r.algorithm}:${r.encoded}`).toBe(s);
        expect(r.encoded).toMatch(/^[0-9a-f]+$/);
        expect(r.encoded.length).toBe(ALGORITHMS[r.algorithm].hexLength);
      }),
      runs(0xd1),
    );
  });
});

describe('references', () => {
  it('parseReference: a Reference or ERR_INVALID_REFERENCE, and isReference agrees', () => {
    fc.assert(
      fc.property(fc.oneof(anyString(300), mutated(validReference)), (s) => {
        const r = outcome(() => parseReference(s), ['ERR_INVALID_REFERENCE']);
        expect(isReference(s)).toBe(!(r instanceof MoteError));
      }),
      runs(0x4ef1, 500),
    );
  });

  it('what parses reparses from its canonical form to the same reference, made of valid names', () => {
    fc.assert(
      fc.property(mutated(validReference), (s) => {
        const r = outcome(() => parseReference(s), ['ERR_INVALID_REFERENCE']);
        if (r instanceof MoteError) return;
        const again = parseReference(r.toString());
        expect(again.toString()).toBe(r.toString());
        expect({ ...again }).toEqual({ ...r });
        expect(isValidRegistryHost(r.registry) && isValidRepository(r.repository)).toBe(true);
        expect(r.name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
        if (r.tag !== undefined) expect(isValidTag(r.tag)).toBe(true);
        if (r.digest !== undefined) expect(isDigest(r.digest)).toBe(true);
      }),
      runs(0x4ef2, 500),
    );
  });

  it('every reference made of valid parts parses (so the round trip above is not vacuous)', () => {
    fc.assert(
      fc.property(validReference, (s) => {
        expect(() => parseReference(s)).not.toThrow();
      }),
      runs(0x4ef3),
    );
  });
});

describe('the name grammar', () => {
  const anything = fc.oneof(anyString(300), fc.anything({ withNullPrototype: true, withBigInt: true }));

  it('the predicates give a boolean for anything', () => {
    fc.assert(
      fc.property(fc.oneof(anything, mutated(registry), mutated(repository), mutated(tag)), (v) => {
        for (const p of [isValidRegistryHost, isValidRepository, isValidTag]) expect(typeof p(v)).toBe('boolean');
      }),
      runs(0x9a1),
    );
  });

  it('a valid registry host makes a URL with that host and the API path unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(registry), anyString(60)), (h) => {
        if (!isValidRegistryHost(h)) return;
        const url = new URL(`https://${h}/v2/`); // must not throw: requests are built this way
        expect(url.pathname).toBe('/v2/');
        expect(url.username + url.password + url.search + url.hash).toBe('');
      }),
      runs(0x9a2, 1000),
    );
  });

  it('a valid repository or tag needs no escaping in a URL path and cannot climb out of it', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(repository), mutated(tag), anyString(60)), (s) => {
        if (isValidRepository(s)) {
          expect(s.split('/').every((c) => c !== '' && c !== '.' && c !== '..' && encodeURIComponent(c) === c)).toBe(true);
          expect(new URL(`https://h/v2/${s}/manifests/x`).pathname).toBe(`/v2/${s}/manifests/x`);
        }
        if (isValidTag(s)) {
          expect(s.length).toBeLessThanOrEqual(128);
          expect(encodeURIComponent(s)).toBe(s);
          expect(s === '.' || s === '..').toBe(false);
        }
      }),
      runs(0x9a3, 1000),
    );
  });
});

describe('media types', () => {
  it('isValidMediaType: a boolean for anything; true only for a bare type/subtype', () => {
    const known = fc.constantFrom(...Object.values(MediaType), 'application/json', 'text/plain; charset=utf-8');
    fc.assert(
      fc.property(fc.oneof(mutated(known), anyString(300), fc.anything({ withNullPrototype: true, withBigInt: true })), (t) => {
        const ok = isValidMediaType(t);
        expect(typeof ok).toBe('boolean');
        if (!ok) return;
        expect(typeof t).toBe('string');
        const s = t as string;
        expect(s.split('/')).toHaveLength(2);
        expect(s.length).toBeLessThanOrEqual(255);
        expect(s).not.toMatch(/[\s;,"\\]/);
      }),
      runs(0x3e1, 500),
    );
  });
});

describe('platforms', () => {
  const component = fc.oneof(
    fc.constantFrom('linux', 'windows', 'darwin', 'macos', 'amd64', 'arm64', 'arm', 'x86_64', 'aarch64', 'armhf', 'armel', 'i386', 'v7', 'v8'),
    fc.constantFrom(...PROTO_KEYS),
    fc.stringMatching(/^[a-z0-9_.-]{1,10}$/),
  );
  const platform = fc.array(component, { minLength: 2, maxLength: 3 }).map((p) => p.join('/'));

  it('parsePlatform: a platform of non-empty lowercase components, or ERR_INVALID_PLATFORM', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(platform), anyString(100)), (s) => {
        const p = outcome(() => parsePlatform(s), ['ERR_INVALID_PLATFORM']);
        if (p instanceof MoteError) return;
        for (const v of [p.os, p.architecture, p.variant ?? 'x']) {
          expect(typeof v).toBe('string');
          expect(v).toMatch(/^[a-z0-9_.-]+$/);
        }
      }),
      runs(0x91a1, 1000),
    );
  });

  it('formatPlatform(parsePlatform(s)) parses back to the same platform', () => {
    fc.assert(
      fc.property(mutated(platform), (s) => {
        const p = outcome(() => parsePlatform(s), ['ERR_INVALID_PLATFORM']);
        if (p instanceof MoteError) return;
        expect(parsePlatform(formatPlatform(p))).toEqual(p);
      }),
      runs(0x91a2, 1000),
    );
  });
});
