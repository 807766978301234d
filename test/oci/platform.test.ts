/**
 * Pure pieces of `pull`: platforms (parsing, the host's, picking from an index), destinations, manifest and
 * descriptor validation, merging index.json, and the CLI's exit codes for the new error codes.
 */
import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeFor } from '../../src/cli/exit-codes.js';
import { MoteError } from '../../src/errors.js';
import { InvalidDestinationError, UnsafeArchiveError } from '../../src/pull/errors.js';
import { InvalidPlatformError, PlatformNotFoundError, InvalidManifestError } from '../../src/oci/errors.js';
import { formatDestination, normalizeDestination, parseDestination } from '../../src/pull/destination/parse.js';
import { mergeLayoutIndex, REF_NAME_ANNOTATION, type LayoutIndex } from '../../src/oci/image-layout.js';
import { parseDocument } from '../../src/oci/manifest.js';
import { validateDescriptor, type Descriptor } from '../../src/oci/descriptor.js';
import { availablePlatforms, formatPlatform, hostPlatform, parsePlatform, selectManifest } from '../../src/oci/platform.js';
import { RegistryAuthError, RegistryNotFoundError, RegistryProtocolError, RegistryRateLimitError, RegistryUnavailableError } from '../../src/registry/errors.js';
import { MediaType } from '../../src/oci/media-types.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const entry = (c: string, platform?: Descriptor['platform']): Descriptor => ({
  mediaType: MediaType.OciManifest,
  digest: D(c),
  size: 100,
  ...(platform && { platform }),
});

describe('parsePlatform / formatPlatform', () => {
  it('parses os/arch and os/arch/variant, lowercased, with aliases normalised', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('Linux/ARM64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/armhf')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(formatPlatform(parsePlatform('linux/arm/v6'))).toBe('linux/arm/v6');
  });

  it.each(['', 'linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux/am d64', 'linux/amd64\n'])('refuses %j', (s) => {
    expect(() => parsePlatform(s)).toThrow(InvalidPlatformError);
    try {
      parsePlatform(s);
    } catch (err) {
      expect((err as MoteError).code).toBe('ERR_INVALID_PLATFORM');
    }
  });
});

describe('hostPlatform', () => {
  it('maps Node arch and platform names to OCI ones', () => {
    expect(hostPlatform({ arch: 'x64', platform: 'linux' })).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform({ arch: 'arm64', platform: 'darwin' })).toEqual({ os: 'darwin', architecture: 'arm64', variant: 'v8' });
    expect(hostPlatform({ arch: 'arm', platform: 'linux', armVersion: '6' })).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(hostPlatform({ arch: 'arm', platform: 'linux', armVersion: undefined })).toMatchObject({ architecture: 'arm', variant: expect.stringMatching(/^v[5-8]$/) });
    expect(hostPlatform({ arch: 'ia32', platform: 'win32' })).toEqual({ os: 'windows', architecture: '386' });
    expect(hostPlatform({ arch: 'ppc64', platform: 'linux', endianness: 'LE' })).toEqual({ os: 'linux', architecture: 'ppc64le' });
    expect(hostPlatform({ arch: 's390x', platform: 'linux' })).toEqual({ os: 'linux', architecture: 's390x' });
    expect(hostPlatform({ arch: 'mipsel', platform: 'linux' })).toEqual({ os: 'linux', architecture: 'mipsle' });
  });

  it('describes this machine with known names', () => {
    const p = hostPlatform();
    expect(p.os).toMatch(/^[a-z0-9]+$/);
    if (process.arch === 'x64') expect(p.architecture).toBe('amd64');
  });
});

describe('selectManifest', () => {
  const index = [
    entry('a', { os: 'linux', architecture: 'amd64' }),
    entry('b', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry('c', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry('d', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry('e', { os: 'unknown', architecture: 'unknown' }),
    entry('f'),
  ];

  it('matches os and architecture exactly, with default variants', () => {
    expect(selectManifest(index, parsePlatform('linux/amd64')).digest).toBe(D('a'));
    expect(selectManifest(index, parsePlatform('linux/arm64')).digest).toBe(D('b')); // arm64 = arm64/v8
    expect(selectManifest(index, parsePlatform('linux/arm64/v8')).digest).toBe(D('b'));
    expect(selectManifest(index, parsePlatform('linux/arm')).digest).toBe(D('d')); // arm = arm/v7
    expect(selectManifest(index, parsePlatform('linux/arm/v6')).digest).toBe(D('c'));
    expect(selectManifest([entry('g', { os: 'linux', architecture: 'arm64' })], parsePlatform('linux/arm64/v8')).digest).toBe(D('g'));
  });

  it('lets an ARM host run an older variant, never a newer one', () => {
    const onlyV6 = [entry('c', { os: 'linux', architecture: 'arm', variant: 'v6' })];
    expect(selectManifest(onlyV6, parsePlatform('linux/arm/v7')).digest).toBe(D('c'));
    const onlyV7 = [entry('d', { os: 'linux', architecture: 'arm', variant: 'v7' })];
    expect(() => selectManifest(onlyV7, parsePlatform('linux/arm/v6'))).toThrow(PlatformNotFoundError);
  });

  it('names the platforms the index has when none fits', () => {
    let caught: unknown;
    try {
      selectManifest(index, parsePlatform('windows/amd64'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PlatformNotFoundError);
    const err = caught as PlatformNotFoundError;
    expect(err.code).toBe('ERR_PLATFORM_NOT_FOUND');
    expect(err.available).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v6', 'linux/arm/v7']);
    expect(err.message).toContain('windows/amd64');
    expect(err.message).toContain('linux/arm64/v8');
    expect(availablePlatforms([entry('e', { os: 'unknown', architecture: 'unknown' })])).toEqual([]);
  });
});

describe('parseDestination', () => {
  it('splits the tag at the last colon when it is a valid tag', () => {
    expect(parseDestination('oci:/tmp/x')).toEqual({ transport: 'oci', path: '/tmp/x' });
    expect(parseDestination('oci:/tmp/x:v1.2')).toEqual({ transport: 'oci', path: '/tmp/x', tag: 'v1.2' });
    expect(parseDestination('oci:rel/dir:latest')).toEqual({ transport: 'oci', path: 'rel/dir', tag: 'latest' });
    expect(parseDestination('oci-archive:/tmp/a.tar:t')).toEqual({ transport: 'oci-archive', path: '/tmp/a.tar', tag: 't' });
    expect(parseDestination('oci:/tmp/a:b/c')).toEqual({ transport: 'oci', path: '/tmp/a:b/c' }); // "b/c" is no tag
    expect(parseDestination('oci:/tmp/a:b:c')).toEqual({ transport: 'oci', path: '/tmp/a:b', tag: 'c' });
  });

  it.each(['', 'oci', 'oci:', 'oci::tag', 'docker://x/y', 'dir:/tmp/x', '/tmp/x', 'oci:/tmp/x:', 'oci-archive:'])('refuses %j', (s) => {
    expect(() => parseDestination(s)).toThrow(InvalidDestinationError);
  });

  it('normalises to an absolute path and checks objects', () => {
    expect(normalizeDestination({ transport: 'oci', path: 'x', tag: 't' }, '/base')).toEqual({ transport: 'oci', path: '/base/x', tag: 't' });
    expect(() => normalizeDestination({ transport: 'oci', path: 'x', tag: 'bad tag' })).toThrow(InvalidDestinationError);
    expect(() => normalizeDestination({ transport: 'dir' as 'oci', path: 'x' })).toThrow(InvalidDestinationError);
    expect(formatDestination({ transport: 'oci-archive', path: '/a.tar', tag: 'v1' })).toBe('oci-archive:/a.tar:v1');
  });
});

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
});

describe('mergeLayoutIndex', () => {
  const named = (c: string, tag?: string): Descriptor => ({ ...entry(c), ...(tag && { annotations: { [REF_NAME_ANNOTATION]: tag } }) });

  it('replaces the entry of the same tag and keeps the others (and unknown fields)', () => {
    const base: LayoutIndex = { schemaVersion: 2, manifests: [named('a', 'v1'), named('b', 'v2'), named('c')], annotations: { keep: 'me' } };
    const merged = mergeLayoutIndex(base, entry('d'), 'v1');
    expect(merged.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]])).toEqual([
      [D('b'), 'v2'],
      [D('c'), undefined],
      [D('d'), 'v1'],
    ]);
    expect(merged.annotations).toEqual({ keep: 'me' });
  });

  it('does not list one untagged digest twice', () => {
    const once = mergeLayoutIndex(undefined, entry('a'), undefined);
    const twice = mergeLayoutIndex(once, entry('a'), undefined);
    expect(twice.manifests).toHaveLength(1);
    expect(twice.manifests[0]!.annotations).toBeUndefined();
  });
});

describe('exit codes for pull errors', () => {
  const r = { registry: 'example.com' };
  it.each([
    [new RegistryAuthError('denied', r), ExitCode.RegistryAuth],
    [new RegistryNotFoundError('no', r), ExitCode.NotFound],
    [new RegistryUnavailableError('down', r), ExitCode.RegistryUnavailable],
    [new RegistryRateLimitError('slow down', r), ExitCode.RegistryUnavailable],
    [new RegistryProtocolError('lies', r), ExitCode.Integrity],
    [new UnsafeArchiveError('a.tar', '../x', 'bad'), ExitCode.Integrity],
    [new InvalidDestinationError('x', 'bad'), ExitCode.Usage],
    [new PlatformNotFoundError('linux/s390x', []), ExitCode.NotFound],
    [new MoteError('ERR_INVALID_REFERENCE', 'bad'), ExitCode.Usage],
    // The store's "download failed" takes its cause's code; without a useful cause it is "unavailable".
    [new MoteError('ERR_MOTE_FETCH_FAILED', 'x', { cause: new RegistryAuthError('denied', r) }), ExitCode.RegistryAuth],
    [new MoteError('ERR_MOTE_FETCH_FAILED', 'x', { cause: new Error('socket') }), ExitCode.RegistryUnavailable],
  ])('%s → %i', (err, code) => {
    expect(exitCodeFor(err)).toBe(code);
  });
});
