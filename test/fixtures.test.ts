import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { which } from './helpers/net.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAYOUT = path.join(ROOT, 'fixtures', 'oci-layout');
const SCRIPT = path.join(ROOT, 'scripts', 'make-fixtures.mjs');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface Manifest {
  schemaVersion: number;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** Every file under `dir`, as sorted paths relative to it. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blob = (digest: string): Buffer => readFileSync(path.join(LAYOUT, 'blobs', ...digest.split(':')));
const json = <T>(data: Buffer): T => JSON.parse(data.toString('utf8')) as T;

const index = json<{ schemaVersion: number; manifests: Descriptor[] }>(readFileSync(path.join(LAYOUT, 'index.json')));
const byName = new Map(index.manifests.map((d) => [d.annotations?.['org.opencontainers.image.ref.name'], d]));
const manifestOf = (name: string): Manifest => json<Manifest>(blob(byName.get(name)!.digest));

const temporaries: string[] = [];
afterAll(() => {
  for (const dir of temporaries) rmSync(dir, { recursive: true, force: true });
});

describe('fixtures/oci-layout', () => {
  it('is reproduced byte for byte by scripts/make-fixtures.mjs', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'mote-fixtures-'));
    temporaries.push(out);
    execFileSync(process.execPath, [SCRIPT, out], { stdio: 'pipe' });
    const committed = listFiles(LAYOUT);
    expect(listFiles(out)).toEqual(committed);
    for (const rel of committed) {
      expect(readFileSync(path.join(out, rel)).equals(readFileSync(path.join(LAYOUT, rel))), rel).toBe(true);
    }
  });

  it('is an OCI image layout with two tagged manifests', () => {
    expect(json<{ imageLayoutVersion: string }>(readFileSync(path.join(LAYOUT, 'oci-layout')))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect(index.schemaVersion).toBe(2);
    expect([...byName.keys()].sort()).toEqual(['alpha', 'beta']);
    for (const d of index.manifests) expect(d.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
  });

  it('names every blob by the sha256 of its bytes', () => {
    const blobs = listFiles(path.join(LAYOUT, 'blobs'));
    expect(blobs.length).toBe(7); // 3 layers, 2 configs, 2 manifests
    for (const rel of blobs) {
      const [alg, hex] = rel.split('/');
      expect(alg).toBe('sha256');
      expect(sha256(readFileSync(path.join(LAYOUT, 'blobs', rel)))).toBe(`sha256:${hex}`);
    }
  });

  it('has descriptors whose sizes and digests match the blobs they point at', () => {
    const descriptors: Descriptor[] = [...index.manifests];
    for (const name of ['alpha', 'beta']) {
      const m = manifestOf(name);
      expect(m.schemaVersion).toBe(2);
      expect(m.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(m.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
      for (const l of m.layers) expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      descriptors.push(m.config, ...m.layers);
    }
    for (const d of descriptors) {
      const data = blob(d.digest);
      expect(data.length, d.digest).toBe(d.size);
      expect(sha256(data)).toBe(d.digest);
    }
  });

  it('shares exactly the first layer between alpha and beta', () => {
    const alpha = manifestOf('alpha').layers.map((l) => l.digest);
    const beta = manifestOf('beta').layers.map((l) => l.digest);
    expect(alpha).toHaveLength(2);
    expect(beta).toHaveLength(2);
    expect(alpha[0]).toBe(beta[0]);
    expect(alpha[1]).not.toBe(beta[1]);
    expect(alpha.filter((d) => beta.includes(d))).toEqual([alpha[0]]);
  });

  it('has configs for linux/amd64 whose diff_ids are the sha256 of the uncompressed layers', () => {
    for (const name of ['alpha', 'beta']) {
      const m = manifestOf(name);
      const config = json<{ architecture: string; os: string; rootfs: { type: string; diff_ids: string[] } }>(blob(m.config.digest));
      expect(config.architecture).toBe('amd64');
      expect(config.os).toBe('linux');
      expect(config.rootfs.type).toBe('layers');
      expect(config.rootfs.diff_ids).toEqual(m.layers.map((l) => sha256(gunzipSync(blob(l.digest)))));
    }
  });

  it('has layers that are gzip (Unix OS byte, no mtime) of ustar archives', () => {
    for (const l of manifestOf('alpha').layers.concat(manifestOf('beta').layers)) {
      const gz = blob(l.digest);
      expect([...gz.subarray(0, 3)]).toEqual([0x1f, 0x8b, 0x08]);
      expect(gz.readUInt32LE(4)).toBe(0); // MTIME
      expect(gz[9]).toBe(3); // OS = Unix
      const tar = gunzipSync(gz);
      expect(tar.length % 512).toBe(0);
      expect(tar.subarray(257, 263).toString('latin1')).toBe('ustar\0');
      expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);
    }
  });

  it('stays small (< 200 KiB)', () => {
    const total = listFiles(LAYOUT).reduce((n, rel) => n + statSync(path.join(LAYOUT, rel)).size, 0);
    expect(total).toBeGreaterThan(0);
    expect(total).toBeLessThan(200 * 1024);
  });

  const haveUmoci = which('umoci') !== undefined;
  if (!haveUmoci) {
    console.warn('fixtures.test: umoci is not installed, skipping the umoci check (apt-get install umoci)');
  }
  it.skipIf(!haveUmoci)('is listed by umoci ls (skipped when umoci is not installed)', () => {
    const out = execFileSync('umoci', ['ls', '--layout', LAYOUT], { encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean).sort()).toEqual(['alpha', 'beta']);
  });
});
