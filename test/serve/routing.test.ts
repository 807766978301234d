/** The mirror's pure parts: which upstream a name goes to, Range parsing, Accept matching, config checking. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeConfig } from '../../src/serve/config.js';
import { SpecError } from '../../src/serve/errors.js';
import { acceptable } from '../../src/serve/manifests.js';
import { parseRange } from '../../src/serve/range.js';
import { Upstreams } from '../../src/serve/upstream.js';
import { makeTempDir } from '../helpers/tmp.js';

describe('upstream routing', () => {
  const u = new Upstreams([
    { url: 'https://registry-1.docker.io', host: 'docker.io', default: true },
    { url: 'https://ghcr.io', prefix: 'ghcr' },
    { url: 'http://127.0.0.1:5001', prefix: 'local/team' },
  ]);
  const at = (name: string, ns?: string): string => {
    const r = u.route(name, ns);
    return `${r.upstream.registry}/${r.repository}`;
  };
  it('Docker Hub as default: one-component names get library/', () => {
    expect(at('alpine')).toBe('registry-1.docker.io/library/alpine');
    expect(at('bitnami/redis')).toBe('registry-1.docker.io/bitnami/redis');
  });
  it('name prefixes are stripped; a longer prefix path works', () => {
    expect(at('ghcr/owner/app')).toBe('ghcr.io/owner/app');
    expect(at('local/team/app')).toBe('127.0.0.1:5001/app');
    expect(at('ghcrx/app')).toBe('registry-1.docker.io/ghcrx/app');
  });
  it("containerd's ?ns= picks the upstream by host; an unknown ns is NAME_UNKNOWN", () => {
    expect(at('owner/app', 'ghcr.io')).toBe('ghcr.io/owner/app');
    expect(at('alpine', 'docker.io')).toBe('registry-1.docker.io/library/alpine');
    expect(() => u.route('x', 'quay.io')).toThrow(SpecError);
  });
  it('no default and no match: NAME_UNKNOWN; bad specs refused', () => {
    const two = new Upstreams([{ url: 'http://127.0.0.1:1', prefix: 'a' }, { url: 'http://127.0.0.1:2', prefix: 'b' }]);
    expect(() => two.route('c/x', undefined)).toThrow(/no upstream serves/);
    expect(() => new Upstreams([])).toThrow(/at least one upstream/);
    expect(() => new Upstreams([{ url: 'ftp://x' }])).toThrow(/http or https/);
    expect(() => new Upstreams([{ url: 'http://x', prefix: '../a' }])).toThrow(/prefix/);
  });
});

describe('Range', () => {
  it('one range, suffix and open ranges; anything else RANGE_INVALID', () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange('bytes=2-5', 10)).toEqual({ start: 2, end: 5 });
    expect(parseRange('bytes=2-', 10)).toEqual({ start: 2, end: 9 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
    for (const bad of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'bytes=0-1,3-4', 'items=0-1', 'bytes=9999999999999999-', 'bytes=a-b', ' '.repeat(300)]) {
      expect(() => parseRange(bad, 10), bad).toThrow(SpecError);
    }
  });
});

describe('Accept', () => {
  it('absent, */*, or listing the type (with parameters) accepts; others do not', () => {
    const t = 'application/vnd.oci.image.index.v1+json';
    expect(acceptable(undefined, t)).toBe(true);
    expect(acceptable('*/*', t)).toBe(true);
    expect(acceptable(`application/json, ${t};q=0.9`, t)).toBe(true);
    expect(acceptable('application/vnd.docker.distribution.manifest.v2+json', t)).toBe(false);
    expect(acceptable(';;;,,,garbage', t)).toBe(false);
  });
});

describe('config file', () => {
  it('YAML and JSON load; unknown keys and wrong types are refused with the file named', () => {
    const { dir, cleanup } = makeTempDir();
    try {
      const y = path.join(dir, 's.yaml');
      fs.writeFileSync(y, 'listen: 127.0.0.1:5000\nmaxSize: 10GiB\nupstreams:\n  - url: https://ghcr.io\n    prefix: ghcr\n');
      expect(loadServeConfig(y)).toEqual({ listen: '127.0.0.1:5000', maxSize: '10GiB', upstreams: [{ url: 'https://ghcr.io', prefix: 'ghcr' }] });
      const j = path.join(dir, 's.json');
      fs.writeFileSync(j, JSON.stringify({ upstreams: [{ url: 'http://127.0.0.1:5001', default: true }] }));
      expect(loadServeConfig(j).upstreams).toHaveLength(1);
      fs.writeFileSync(j, '{"upstreams": [{"url": 5}]}');
      expect(() => loadServeConfig(j)).toThrow(/upstreams\[0\]\.url/);
      fs.writeFileSync(y, 'tagMaxAgeSeconds: -1\n');
      expect(() => loadServeConfig(y)).toThrow(/tagMaxAgeSeconds/);
      fs.writeFileSync(y, 'a: [\n');
      expect(() => loadServeConfig(y)).toThrow(/not valid YAML/);
    } finally {
      cleanup();
    }
  });
});
