import { describe, expect, it } from 'vitest';
import { InvalidReferenceError, Reference, isReference, parseReference, transportFromImageName } from '../../src/index.js';

const H = 'a'.repeat(64);
const DIG = `sha256:${H}`;

describe('parseReference: valid references, normalised', () => {
  const table: Array<[string, { registry: string; repository: string; tag?: string; digest?: string }, string]> = [
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }, 'docker.io/library/alpine:latest'],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }, 'docker.io/library/alpine:3.20'],
    ['foo/bar', { registry: 'docker.io', repository: 'foo/bar', tag: 'latest' }, 'docker.io/foo/bar:latest'],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }, 'docker.io/library/alpine:latest'],
    ['index.docker.io/foo/bar:1', { registry: 'docker.io', repository: 'foo/bar', tag: '1' }, 'docker.io/foo/bar:1'],
    ['localhost/x', { registry: 'localhost', repository: 'x', tag: 'latest' }, 'localhost/x:latest'],
    ['localhost:5000/x', { registry: 'localhost:5000', repository: 'x', tag: 'latest' }, 'localhost:5000/x:latest'],
    ['localhost:5000/x:v1', { registry: 'localhost:5000', repository: 'x', tag: 'v1' }, 'localhost:5000/x:v1'],
    ['any.host/store/a', { registry: 'any.host', repository: 'store/a', tag: 'latest' }, 'any.host/store/a:latest'],
    ['ghcr.io/o/r/deep/path:t_1.2-3', { registry: 'ghcr.io', repository: 'o/r/deep/path', tag: 't_1.2-3' }, 'ghcr.io/o/r/deep/path:t_1.2-3'],
    [`ghcr.io/o/r@${DIG}`, { registry: 'ghcr.io', repository: 'o/r', digest: DIG }, `ghcr.io/o/r@${DIG}`],
    [`ghcr.io/o/r:v1@${DIG}`, { registry: 'ghcr.io', repository: 'o/r', tag: 'v1', digest: DIG }, `ghcr.io/o/r:v1@${DIG}`],
    [`alpine@${DIG}`, { registry: 'docker.io', repository: 'library/alpine', digest: DIG }, `docker.io/library/alpine@${DIG}`],
    ['Reg.Example.COM:443/a_b/c__d/e---f/g.h', { registry: 'Reg.Example.COM:443', repository: 'a_b/c__d/e---f/g.h', tag: 'latest' }, 'Reg.Example.COM:443/a_b/c__d/e---f/g.h:latest'],
    ['[::1]:5000/x', { registry: '[::1]:5000', repository: 'x', tag: 'latest' }, '[::1]:5000/x:latest'],
    ['127.0.0.1:5000/x/y', { registry: '127.0.0.1:5000', repository: 'x/y', tag: 'latest' }, '127.0.0.1:5000/x/y:latest'],
    [`r.io/x:${'T'.repeat(128)}`, { registry: 'r.io', repository: 'x', tag: 'T'.repeat(128) }, `r.io/x:${'T'.repeat(128)}`],
    ['localhost:1/x', { registry: 'localhost:1', repository: 'x', tag: 'latest' }, 'localhost:1/x:latest'],
    ['localhost:65535/x', { registry: 'localhost:65535', repository: 'x', tag: 'latest' }, 'localhost:65535/x:latest'],
    ['[2001:db8::1]/x', { registry: '[2001:db8::1]', repository: 'x', tag: 'latest' }, '[2001:db8::1]/x:latest'],
    ['[::ffff:127.0.0.1]:5000/x', { registry: '[::ffff:127.0.0.1]:5000', repository: 'x', tag: 'latest' }, '[::ffff:127.0.0.1]:5000/x:latest'],
  ];
  for (const [input, parts, canonical] of table) {
    it(input, () => {
      const r = parseReference(input);
      expect(r).toBeInstanceOf(Reference);
      expect({ registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest }).toEqual({
        tag: undefined,
        digest: undefined,
        ...parts,
      });
      expect(r.toString()).toBe(canonical);
      expect(String(r)).toBe(canonical);
      // Canonical strings are fixed points.
      expect(parseReference(canonical).toString()).toBe(canonical);
      expect(isReference(input)).toBe(true);
    });
  }

  it('names the same image the same way', () => {
    expect(parseReference('alpine').equals(parseReference('docker.io/library/alpine:latest'))).toBe(true);
    expect(parseReference('alpine').equals('index.docker.io/library/alpine')).toBe(false); // a string is compared as it is
    expect(parseReference('alpine').name).toBe('docker.io/library/alpine');
    expect(JSON.stringify({ r: parseReference('foo/bar:1') })).toBe('{"r":"docker.io/foo/bar:1"}');
  });

  it('withTag / withDigest', () => {
    const r = parseReference('r.io/x:1');
    expect(r.withTag('2').toString()).toBe('r.io/x:2');
    expect(r.withDigest(DIG).toString()).toBe(`r.io/x:1@${DIG}`);
    expect(() => r.withTag('-bad')).toThrow(InvalidReferenceError);
    expect(() => r.withDigest('sha256:nope')).toThrow(InvalidReferenceError);
  });
});

describe('parseReference: invalid references', () => {
  const bad: Array<[string, unknown]> = [
    ['empty', ''],
    ['not a string', 42],
    ['uppercase repository', 'docker.io/Foo/bar'],
    ['uppercase short name', 'Alpine'],
    ['scheme', 'https://any.host/store/a'],
    ['whitespace', 'alpine latest'],
    ['trailing newline', 'alpine\n'],
    ['empty tag', 'alpine:'],
    ['tag starting with a dash', 'alpine:-x'],
    ['tag starting with a dot', 'alpine:.x'],
    ['tag too long', `alpine:${'t'.repeat(129)}`],
    ['tag with a slash-free bad char', 'alpine:a+b'],
    ['empty path component', 'r.io//x'],
    ['trailing slash', 'r.io/x/'],
    ['leading slash', '/x'],
    ['registry only', 'r.io/'],
    ['component starting with a separator', 'r.io/_x'],
    ['component ending with a separator', 'r.io/x-'],
    ['triple underscore', 'r.io/a___b'],
    ['dot dot', 'r.io/a..b'],
    ['bad digest', 'alpine@sha256:abc'],
    ['uppercase digest', `alpine@sha256:${H.toUpperCase()}`],
    ['unknown digest algorithm', `alpine@md5:${'a'.repeat(32)}`],
    ['empty digest', 'alpine@'],
    ['two @', `alpine@${DIG}@${DIG}`],
    ['bad registry', '-bad.io/x'],
    ['bad port', 'r.io:port/x'],
    ['port 0', 'localhost:0/x'],
    ['port past 65535', 'localhost:99999/x'],
    ['port 65536', 'r.io:65536/x:v1'],
    ['port with a leading zero', 'localhost:05000/x'],
    ['port of six digits', `r.io:000443/x@${DIG}`],
    ['empty port', 'localhost:/x'],
    ['bracketed non-IPv6', '[abc]:5000/x'],
    ['bracketed IPv6 with two ::', '[1::2::3]:5000/x'],
    ['IPv6 port 0', '[::1]:0/x'],
    ['dotted numbers that are no IPv4 address', '999.1.1.1:5000/x'],
    ['name too long', `r.io/${'a'.repeat(260)}`],
    ['only a tag', ':latest'],
    // Found by test/properties/names.test.ts: hosts the grammar allowed but no URL can hold, which failed at the
    // first request with Node's ERR_INVALID_URL (exit 1) instead of here.
    ['a host ending in a number (a bad IPv4 address)', 'a.1/x'],
    ['a host that reads as IPv4 out of range', '1.2.3.256/x'],
    ['a long name ending in an IPv4 address', 'hasOwnProperty127.0.0.1:5000/x'],
    ['a port over 65535', 'localhost:99999/x'],
    ['a malformed IPv6 address', '[::1::2]:5000/x'],
  ];
  for (const [label, input] of bad) {
    it(label, () => {
      let err: unknown;
      try {
        parseReference(input as string);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidReferenceError);
      expect((err as InvalidReferenceError).code).toBe('ERR_INVALID_REFERENCE');
      expect(isReference(input)).toBe(false);
    });
  }

  it('hosts a URL can hold still parse', () => {
    for (const host of ['localhost:5000', '127.0.0.1:5000', '[::1]:5000', '[fe80::1]', 'r.io:65535', 'My-Registry.example.com']) {
      expect(parseReference(`${host}/x`).registry).toBe(host);
    }
  });

  it('a bad port or address is refused by the grammar, saying what is wrong (never a URL error later)', () => {
    expect(() => parseReference('localhost:99999/x')).toThrow(/port 99999 is not a port \(1 to 65535/);
    expect(() => parseReference('localhost:0/x')).toThrow(/port 0 is not a port/);
    expect(() => parseReference('[1::2::3]/x')).toThrow(/not an IPv6 address/);
    expect(() => new Reference({ registry: 'localhost:0', repository: 'x' })).toThrow(InvalidReferenceError);
  });

  it('the Reference constructor validates too', () => {
    expect(() => new Reference({ registry: 'r.io', repository: 'Bad' })).toThrow(InvalidReferenceError);
    expect(() => new Reference({ registry: 'bad_host', repository: 'x' })).toThrow(InvalidReferenceError);
    expect(new Reference({ registry: 'r.io', repository: 'x', tag: 'v' }).toString()).toBe('r.io/x:v');
  });
});

describe('transportFromImageName (the original TestTransportFromImageName, plus edges)', () => {
  const table: Array<[string, string, string]> = [
    ['docker transport', 'docker:image', 'oci'],
    ['oci alone', 'oci', 'oci'],
    ['oci transport', 'oci:https:/any.host/here', 'oci'],
    ['directory transport', 'dir:path/to/file', 'dir'],
    ['docker archive transport', 'docker-archive:path/to/data', 'docker-archive'],
    ['oci archive transport', 'oci-archive:/path/to/file', 'oci-archive'],
    ['tarball transport', 'tarball:~/bigfiles/bob.tar', 'tarball'],
    ['not defined transport', 'something:is.maybe.bottle', 'oci'],
    ['a URL', 'https://any.host/store/a', 'oci'],
    ['a plain reference with a port', 'localhost:5000/x', 'oci'],
    ['dir without a colon', 'dir', 'oci'],
    ['empty', '', 'oci'],
    ['prototype names are not transports', 'constructor:x', 'oci'],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => expect(transportFromImageName(input)).toBe(expected));
  }
});
