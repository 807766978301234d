/** Pull destinations (src/pull/destination/parse.ts): parsing `oci:` / `oci-archive:` strings, normalising, formatting. */
import { describe, expect, it } from 'vitest';
import { InvalidDestinationError } from '../../src/pull/errors.js';
import { formatDestination, normalizeDestination, parseDestination } from '../../src/pull/destination/parse.js';

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
