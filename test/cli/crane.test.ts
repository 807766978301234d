/**
 * `mote manifest | config | digest`: crane's inspection commands, against a real registry, compared with what
 * skopeo reads from it; then, with the registry stopped, answered from the cache (`--offline`).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moteRunner } from '../helpers/cli.js';
import { makeImage, TWO_PLATFORMS, type BuiltImage } from '../helpers/images.js';
import { hostPlatform, selectManifest } from '../../src/oci/platform.js';
import type { CachedRef } from '../../src/pull/refs.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-crane-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const { mote } = moteRunner(scratch);

describe.skipIf(reason)('mote manifest, config, digest', () => {
  let registry: RegistryHandle;
  let app: BuiltImage;
  let multi: BuiltImage;
  let host: string;
  const cache = fresh('cache');
  const m = (...args: string[]) => mote(['--cache', cache, ...args]);

  beforeAll(async () => {
    registry = await startRegistry();
    host = registry.host;
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 20_000 }] });
    multi = await makeImage(layout, {
      tag: 'multi',
      layers: [{ size: 5_000 }],
      platforms: [...TWO_PLATFORMS],
    });
    await pushLayout(layout, 'app', registry, 'team/app:v1');
    await pushLayout(layout, 'multi', registry, 'team/multi:v1');
  }, 180_000);
  afterAll(async () => {
    await registry?.stop();
    cleanup();
  });

  it('manifest prints the bytes the registry serves (skopeo inspect --raw reads the same); --platform follows an index', async () => {
    const r = await m('manifest', `${host}/team/app:v1`);
    expect(r.code, r.err).toBe(0);
    expect(sha256(r.out)).toBe(app.digest);
    expect(r.out).toBe((await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/team/app:v1`])).stdout);
    const index = await m('manifest', `docker://${host}/team/multi:v1`);
    expect(sha256(index.out)).toBe(multi.digest);
    const arm = await m('manifest', `${host}/team/multi:v1`, '--platform', 'linux/arm64');
    expect(sha256(arm.out)).toBe(multi.manifests.find((x) => x.platform?.architecture === 'arm64')!.digest);
    // A single manifest with --platform: the manifest itself (there is nothing to pick from).
    expect(sha256((await m('manifest', `${host}/team/app:v1`, '--platform', 'linux/arm64')).out)).toBe(app.digest);
  });

  it('config prints the config blob (of the platform, for an index)', async () => {
    const r = await m('config', `${host}/team/app:v1`);
    expect(r.code, r.err).toBe(0);
    expect(sha256(r.out)).toBe(app.manifests[0]!.config.digest);
    const arm = await m('config', `${host}/team/multi:v1`, '--platform', 'linux/arm64/v8');
    expect(arm.code, arm.err).toBe(0);
    expect(JSON.parse(arm.out)).toMatchObject({ os: 'linux', architecture: 'arm64' });
    expect(sha256(arm.out)).toBe(multi.manifests.find((x) => x.platform?.architecture === 'arm64')!.config.digest);
    // No --platform on an index: the host's platform, picked by the same rule a pull uses.
    const hostManifest = selectManifest(multi.manifests, hostPlatform());
    const byHost = await m('config', `${host}/team/multi:v1`);
    expect(byHost.code, byHost.err).toBe(0);
    expect(sha256(byHost.out)).toBe(multi.manifests.find((x) => x.digest === hostManifest.digest)!.config.digest);
    const none = await m('config', `${host}/team/multi:v1`, '--platform', 'windows/amd64');
    expect(none.code).toBe(3);
    expect(none.err).toContain('ERR_PLATFORM_NOT_FOUND');
  });

  it('digest prints the digest (--full-ref: repository@digest; --platform: the platform manifest\'s); --json has the descriptor', async () => {
    expect((await m('digest', `${host}/team/app:v1`)).out).toBe(`${app.digest}\n`);
    expect((await m('digest', `${host}/team/app:v1`, '--full-ref')).out).toBe(`${host}/team/app@${app.digest}\n`);
    const amd = multi.manifests.find((x) => x.platform?.architecture === 'amd64')!;
    expect((await m('digest', `${host}/team/multi:v1`, '--platform', 'linux/amd64')).out).toBe(`${amd.digest}\n`);
    const json = await m('--json', 'digest', `${host}/team/multi:v1`);
    expect(JSON.parse(json.out)).toEqual({
      reference: `${host}/team/multi:v1`,
      digest: multi.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      size: expect.any(Number),
      fullRef: `${host}/team/multi@${multi.digest}`,
    });
  });

  it('a tag the registry does not have exits 3; a bad reference or platform exits 2', async () => {
    const missing = await m('digest', `${host}/team/app:nope`);
    expect(missing.code).toBe(3);
    expect(missing.err).toContain('ERR_REGISTRY_NOT_FOUND');
    expect((await m('manifest', 'UPPER/case:1')).code).toBe(2);
    expect((await m('manifest', `${host}/team/app:v1`, '--platform', 'linux')).code).toBe(2);
  });

  it('a tag that cannot be recorded still prints the document, with a warning on stderr (MOTE_REF_NOT_RECORDED)', async () => {
    const own = fresh('cache');
    expect((await mote(['--cache', own, 'digest', `${host}/team/app:v1`])).code).toBe(0);
    const refs = path.join(own, '.mote', 'refs');
    expect(fs.readdirSync(refs).filter((f) => f.endsWith('.json'))).toHaveLength(1); // digest recorded app:v1
    fs.rmSync(refs, { recursive: true });
    fs.writeFileSync(refs, 'not a directory');
    const r = await mote(['--cache', own, 'manifest', `${host}/team/app:v1`]);
    expect(r.code, r.err).toBe(0);
    expect(sha256(r.out)).toBe(app.digest);
    expect(r.err).toMatch(/^mote: warning: MOTE_REF_NOT_RECORDED: /m);
    const json = await mote(['--cache', own, '--json', 'digest', `${host}/team/app:v1`]);
    expect(JSON.parse(json.out).digest).toBe(app.digest);
    expect(JSON.parse(json.err.trim()).warning.code).toBe('MOTE_REF_NOT_RECORDED');
  });

  it('--offline answers from the cache: by digest, and by a tag a pull or an inspection recorded; else exit 3', async () => {
    const pulled = await m('pull', `${host}/team/app:v1`, '--to', `oci:${fresh('layout')}`);
    expect(pulled.code, pulled.err).toBe(0);
    await registry.stop();
    expect(sha256((await m('manifest', `${host}/team/app:v1`, '--offline')).out)).toBe(app.digest);
    expect(sha256((await m('config', `${host}/team/app:v1`, '--offline')).out)).toBe(app.manifests[0]!.config.digest);
    expect((await m('digest', `${host}/team/multi@${multi.digest}`, '--offline')).out).toBe(`${multi.digest}\n`);
    // team/multi:v1 was never pulled: `mote manifest` (and config, digest) recorded the tag when they resolved it.
    const tag = await m('digest', `${host}/team/multi:v1`, '--offline');
    expect(tag.code, tag.err).toBe(0);
    expect(tag.out).toBe(`${multi.digest}\n`);
    const arm = multi.manifests.find((x) => x.platform?.architecture === 'arm64')!;
    expect(sha256((await m('manifest', `${host}/team/multi:v1`, '--offline', '--platform', 'linux/arm64')).out)).toBe(arm.digest);
    // A tag nothing ever resolved, and one the registry did not have (app:nope above): not cached.
    for (const ref of [`${host}/team/app:v9`, `${host}/team/app:nope`]) {
      const r = await m('manifest', ref, '--offline');
      expect(r.code, ref).toBe(3);
      expect(r.err).toContain('ERR_MOTE_NOT_CACHED');
      expect(r.out).toBe('');
    }
    // mote images: the pulled tag and the inspected one (the index, with its platforms), nothing else.
    const images = await m('--json', 'images');
    expect(images.code, images.err).toBe(0);
    const rows = JSON.parse(images.out) as (CachedRef & { present: boolean })[];
    expect(rows.map((r) => [r.reference, r.digest, r.platforms, r.present])).toEqual([
      [`${host}/team/app:v1`, app.digest, [], true],
      [`${host}/team/multi:v1`, multi.digest, ['linux/amd64', 'linux/arm64/v8'], true],
    ]);
    expect(rows[1]!.mediaType).toBe('application/vnd.oci.image.index.v1+json');
  });

  it('a config whose cached copy was damaged is an integrity error (exit 4), and nothing is printed', async () => {
    const own = fresh('cache');
    fs.cpSync(cache, own, { recursive: true });
    const config = app.manifests[0]!.config;
    const file = path.join(own, 'blobs', 'sha256', config.digest.slice('sha256:'.length));
    fs.chmodSync(file, 0o644);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from(' '), 0, 1, 0); // '{' -> ' ': same size, another digest
    fs.closeSync(fd);
    const r = await mote(['--cache', own, 'config', `${host}/team/app:v1`, '--offline']);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/ERR_MOTE_(DIGEST_MISMATCH|CORRUPT)/);
    expect(r.out).toBe('');
  });
});
