/**
 * `mote serve` as users run it (the built CLI): a YAML config with an upstream that needs Basic auth (credentials
 * from an auth file), downstream htpasswd auth, one upstream download per blob across two processes on one cache
 * root (the CLI and an in-process mirror), skopeo through it, and SIGTERM shutting it down cleanly.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer } from '../../src/serve/index.js';
import { FileMoteCache } from '../../src/store/index.js';
import { moteRunner } from '../helpers/cli.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { freePort } from '../helpers/net.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();

describe.skipIf(reason !== undefined)('mote serve (CLI)', () => {
  let upstream: RegistryHandle;
  let tmp: { dir: string; cleanup: () => void };
  let image: BuiltImage;

  beforeAll(async () => {
    tmp = makeTempDir('mote-serve-cli-');
    upstream = await startRegistry({ auth: 'basic' });
    image = await makeImage(path.join(tmp.dir, 'layout'), { tag: 'v1', layers: [{ size: 6 << 20 }, { size: 2 << 20 }] });
    await pushLayout(path.join(tmp.dir, 'layout'), 'v1', upstream, 'team/app:v1');
  }, 120_000);
  afterAll(async () => {
    await upstream?.stop();
    tmp?.cleanup();
  });

  it('config file, auth both ways, one download across two processes, skopeo, SIGTERM', async () => {
    const auth = Buffer.from(`${upstream.username}:${upstream.password}`).toString('base64');
    const authFile = path.join(tmp.dir, 'auth.json');
    fs.writeFileSync(authFile, JSON.stringify({ auths: { [upstream.host]: { auth } } }));
    const ht = spawnSync('htpasswd', ['-Bbn', 'puller', 'secret'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(tmp.dir, 'htpasswd'), ht.stdout);
    const port = await freePort();
    const cache = path.join(tmp.dir, 'cache');
    fs.writeFileSync(
      path.join(tmp.dir, 'serve.yaml'),
      [`listen: 127.0.0.1:${port}`, `cache: ${JSON.stringify(cache)}`, 'maxSize: 1GiB', 'upstreams:', `  - url: ${JSON.stringify(upstream.url)}`, `    authFile: ${JSON.stringify(authFile)}`, '    default: true', ''].join('\n'),
    );
    const { start } = moteRunner(tmp.dir, 120_000);
    const proc = start(['serve', '--config', path.join(tmp.dir, 'serve.yaml'), '--htpasswd', path.join(tmp.dir, 'htpasswd')]);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 200 && !proc.err().includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(proc.err()).toContain('listening on');

    const creds = { authorization: `Basic ${Buffer.from('puller:secret').toString('base64')}` };
    expect((await fetch(`${url}/v2/`)).status).toBe(401);
    expect((await fetch(`${url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('puller:wrong').toString('base64')}` } })).status).toBe(401);
    expect((await fetch(`${url}/v2/`, { headers: creds })).status).toBe(200);

    // A second process on the same root: an in-process mirror. Clients of both ask for the same uncached blobs.
    const store = new FileMoteCache(cache);
    await store.initialize();
    const other = await startMirrorServer({ listen: '127.0.0.1:0', store, upstreams: [{ url: upstream.url, authFile }] });
    try {
      const layers = image.manifests[0]!.layers;
      const got = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          Promise.all(
            layers.map(async (l) => {
              const r = await fetch(`${i % 2 ? url : other.url}/v2/team/app/blobs/${l.digest}`, { headers: creds });
              return `sha256:${crypto.createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')}`;
            }),
          ),
        ),
      );
      for (const g of got) expect(g).toEqual(layers.map((l) => l.digest));
      for (const l of layers) expect(await upstream.blobGets(l.digest)).toBe(1);
    } finally {
      await other.close(1000);
      await store.close();
    }
    const dest = path.join(tmp.dir, 'pulled');
    await skopeo(['--insecure-policy', 'copy', '--src-tls-verify=false', '--src-creds', 'puller:secret', `docker://127.0.0.1:${port}/team/app:v1`, `oci:${dest}:v1`]);
    for (const b of image.blobs) expect(fs.existsSync(path.join(dest, 'blobs', 'sha256', b.digest.slice(7)))).toBe(true);
    const lines = proc.out().trim().split('\n').map((l) => JSON.parse(l) as { status: number; route: string });
    expect(lines.some((l) => l.route === 'manifest' && l.status === 200)).toBe(true);

    proc.child.kill('SIGTERM');
    const end = await proc.done;
    expect(end.err).toContain('shutting down');
    expect(end.code).toBe(0);
  }, 180_000);

  it('refuses bad flags and config with a usage error', async () => {
    const { mote } = moteRunner(tmp.dir);
    const none = await mote(['serve']);
    expect([none.code, none.err]).toEqual([2, expect.stringContaining('--upstream')]);
    fs.writeFileSync(path.join(tmp.dir, 'bad.yaml'), 'upstreams:\n  - url: http://x\n    colour: red\n');
    const bad = await mote(['serve', '--config', path.join(tmp.dir, 'bad.yaml')]);
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('unknown key "colour"')]);
    const tls = await mote(['serve', '--upstream', upstream.url, '--tls-cert', 'x.pem']);
    expect(tls.code).toBe(2);
  });
});
