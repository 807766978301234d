/** Merging a new image into an OCI image layout's index.json (src/oci/image-layout.ts). */
import { describe, expect, it } from 'vitest';
import { checkOciLayoutFile, mergeLayoutIndex, parseLayoutIndex, REF_NAME_ANNOTATION, serializeIndex, type LayoutIndex } from '../../src/oci/image-layout.js';
import type { Descriptor } from '../../src/oci/descriptor.js';
import { D, entry } from '../helpers/descriptors.js';

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

describe('checkOciLayoutFile', () => {
  // Found by test/properties/documents.test.ts: quoting a version nested deeper than the stack threw a RangeError.
  it('refuses any imageLayoutVersion but 1.x.y with ERR_INVALID_LAYOUT, however it is nested', () => {
    expect(() => checkOciLayoutFile(Buffer.from('{"imageLayoutVersion":"1.0.0"}'), 'l')).not.toThrow();
    const deep = '{"a":'.repeat(20_000) + '0' + '}'.repeat(20_000);
    for (const version of ['"2.0.0"', '1', deep]) {
      expect(() => checkOciLayoutFile(Buffer.from(`{"imageLayoutVersion":${version}}`), 'l')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_LAYOUT' }));
    }
  });
});

describe('parseLayoutIndex', () => {
  // Found by test/properties/documents.test.ts: an index.json with a field nested deeper than JSON.stringify can go
  // was accepted, and writing it back (adding an image to the layout) failed with a RangeError.
  it('refuses an index.json it could not write back, and writes back what it takes', () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    expect(() => parseLayoutIndex(Buffer.from(`{"schemaVersion":2,"manifests":[],"x-tool":${deep}}`), 'l')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_LAYOUT', message: expect.stringContaining('nested deeper') }),
    );
    const fine = `{"schemaVersion":2,"manifests":[],"x-tool":{"a":[1,{"b":"[[["}]}}`;
    expect(serializeIndex(parseLayoutIndex(Buffer.from(fine), 'l'))).toBe(fine);
  });
});
