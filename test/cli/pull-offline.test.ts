/**
 * `mote images` and `mote pull --offline`: pulls record the tag they resolved (`.mote/refs/`); with the registry
 * stopped, an offline pull of such a tag writes the same image from the cache alone, and anything the cache lacks
 * is ERR_MOTE_NOT_CACHED (exit 3) with nothing written. Real registry, real skopeo.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedRef } from '../../src/pull/refs.js';
import { moteRunner } from '../helpers/cli.js';
import { makeImage, TWO_PLATFORMS, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-offline-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const { mote } = moteRunner(scratch);

type ImageRecord = CachedRef & { present: boolean };

describe.skipIf(reason)('mote images and mote pull --offline', () => {
  let registry: RegistryHandle;
  let app: BuiltImage;
  let multi: BuiltImage;
  let host: string;
  const cache = fresh('cache');

  beforeAll(async () => {
    registry = await startRegistry();
    host = registry.host;
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 40_000 }, { size: 3_000 }] });
    multi = await makeImage(layout, {
      tag: 'multi',
      layers: [{ size: 5_000 }],
      platforms: [...TWO_PLATFORMS],
    });
    await pushLayout(layout, 'app', registry, 'team/app:v1');
    await pushLayout(layout, 'multi', registry, 'team/multi:v2');
    for (const args of [
      ['pull', `${host}/team/app:v1`, '--to', `oci:${fresh('layout')}`],
      ['pull', `docker://${host}/team/multi:v2`, '--to', `oci:${fresh('layout')}`, '--platform', 'linux/arm64'],
    ]) {
      const r = await mote(['--cache', cache, ...args]);
      expect(r.code, r.err).toBe(0);
    }
    await registry.stop(); // from here on, no registry at all
  }, 180_000);
  afterAll(async () => {
    await registry?.stop();
    cleanup();
  });

  it('mote images lists each pulled tag with the digest it resolved to', async () => {
    const r = await mote(['--cache', cache, '--json', 'images']);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as ImageRecord[];
    expect(rows.map((x) => [x.reference, x.digest, x.present])).toEqual([
      [`${host}/team/app:v1`, app.digest, true],
      [`${host}/team/multi:v2`, multi.digest, true],
    ]);
    expect(rows[1]!.platforms).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(rows[0]!.platforms).toEqual([]);
    expect(Date.parse(rows[0]!.recordedAt)).toBeGreaterThan(Date.now() - 600_000);
    const human = await mote(['--cache', cache, 'images']);
    expect(human.out.split('\n')[0]).toMatch(/^REFERENCE +DIGEST +SIZE +RECORDED +PLATFORMS$/);
    expect(human.out).toContain(`${host}/team/app:v1`);
  });

  it('pull --offline of a cached tag writes the image from the cache alone; skopeo reads it', async () => {
    const dest = fresh('offline');
    const r = await mote(['--cache', cache, '--json', 'pull', `${host}/team/app:v1`, '--to', `oci:${dest}`, '--offline']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ digest: app.digest, bytesFromRegistry: 0, blobs: app.blobs.length });
    expect(sha256((await skopeo(['inspect', '--raw', `oci:${dest}:v1`])).stdout)).toBe(app.digest);
    // The platform pulled before is there; by digest too.
    const arm = await mote(['--cache', cache, 'pull', `${host}/team/multi:v2`, '--to', `oci:${fresh('offline')}`, '--offline', '--platform', 'linux/arm64']);
    expect(arm.code, arm.err).toBe(0);
    const byDigest = await mote(['--cache', cache, 'pull', `${host}/team/app@${app.digest}`, '--to', `oci:${fresh('offline')}:x`, '--offline']);
    expect(byDigest.code, byDigest.err).toBe(0);
  });

  it('what the cache lacks is ERR_MOTE_NOT_CACHED, exit 3, nothing written: a tag never pulled, a platform never pulled', async () => {
    for (const [ref, extra] of [
      [`${host}/team/app:v2`, []],
      [`${host}/team/other:v1`, []],
      [`${host}/team/multi:v2`, ['--platform', 'linux/amd64']],
    ] as const) {
      const dest = fresh('missing');
      const r = await mote(['--cache', cache, 'pull', ref, '--to', `oci:${dest}`, '--offline', ...extra]);
      expect(r.code, `${ref} ${r.err}`).toBe(3);
      expect(r.err).toMatch(/^mote: ERR_MOTE_NOT_CACHED: /m);
      expect(fs.existsSync(dest)).toBe(false);
    }
  });

  it('a tag whose manifest was removed is no longer listed (--all shows it as missing), and offline pulls of it exit 3', async () => {
    const own = fresh('cache');
    fs.cpSync(cache, own, { recursive: true });
    const rm = await mote(['--cache', own, 'rm', app.digest]);
    expect(rm.code, rm.err).toBe(0);
    const listed = JSON.parse((await mote(['--cache', own, '--json', 'images'])).out) as ImageRecord[];
    expect(listed.map((x) => x.reference)).toEqual([`${host}/team/multi:v2`]);
    const all = JSON.parse((await mote(['--cache', own, '--json', 'images', '--all'])).out) as ImageRecord[];
    expect(all.map((x) => [x.reference, x.present])).toEqual([
      [`${host}/team/app:v1`, false],
      [`${host}/team/multi:v2`, true],
    ]);
    const r = await mote(['--cache', own, 'pull', `${host}/team/app:v1`, '--to', `oci:${fresh('gone')}`, '--offline']);
    expect(r.code).toBe(3);
    // A layer pruned away: also not cached.
    const layer = multi.manifests.find((m) => m.platform?.architecture === 'arm64')!.layers[0]!;
    expect((await mote(['--cache', own, 'rm', layer.digest])).code).toBe(0);
    const noLayer = await mote(['--cache', own, 'pull', `${host}/team/multi:v2`, '--to', `oci:${fresh('gone')}`, '--offline', '--platform', 'linux/arm64']);
    expect(noLayer.code, noLayer.err).toBe(3);
    expect(noLayer.err).toContain(layer.digest);
  });

  it('a forged record (another reference under this one\'s name, or not a record at all) is not believed', async () => {
    const own = fresh('cache');
    fs.cpSync(cache, own, { recursive: true });
    const dir = path.join(own, '.mote', 'refs');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(2);
    const [a, b] = files.map((f) => path.join(dir, f));
    fs.copyFileSync(a!, b!); // b's name now holds a's record
    fs.writeFileSync(path.join(dir, `${'0'.repeat(64)}.json`), '{"reference": 1}');
    // A FIFO under a record's name (opening it would wait for a writer forever) and a record of its own name whose
    // text would drive a terminal: neither is believed, and nothing waits.
    execFileSync('mkfifo', [path.join(dir, `${'1'.repeat(64)}.json`)]);
    const hostile = JSON.parse(fs.readFileSync(a!, 'utf8')) as ImageRecord;
    fs.writeFileSync(a!, JSON.stringify({ ...hostile, recordedAt: '\u001b]0;owned\u0007' }));
    const r = await mote(['--cache', own, '--json', 'images', '--all']);
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as ImageRecord[];
    expect(rows).toHaveLength(0);
  });
});
