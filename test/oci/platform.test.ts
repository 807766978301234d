/** Platforms (src/oci/platform.ts): parsing and formatting, the host's, picking a manifest from an index. */
import { describe, expect, it } from 'vitest';
import { MoteError } from '../../src/errors.js';
import { InvalidPlatformError, PlatformNotFoundError } from '../../src/oci/errors.js';
import { availablePlatforms, formatPlatform, hostPlatform, parsePlatform, selectManifest } from '../../src/oci/platform.js';
import { D, entry } from '../helpers/descriptors.js';

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

  // Found by test/properties/names.test.ts: the alias table was indexed with the component as it came, so
  // `constructor` and `__proto__` found Object.prototype's members and the architecture became undefined.
  it('takes architectures named like members of every object as they are', () => {
    expect(parsePlatform('linux/constructor')).toEqual({ os: 'linux', architecture: 'constructor' });
    expect(parsePlatform('0/__proto__')).toEqual({ os: '0', architecture: '__proto__' });
    expect(formatPlatform(parsePlatform('0/__proto__'))).toBe('0/__proto__');
    expect(hostPlatform({ arch: 'constructor', platform: '__proto__' })).toEqual({ os: '__proto__', architecture: 'constructor' });
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
