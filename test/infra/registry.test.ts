/**
 * Proves the registry test infrastructure is real: a real docker-registry, real skopeo pushes, real Basic and
 * Bearer-token auth, and a FaultInjectingProxy whose faults are exactly what it claims. Uses global fetch only,
 * not the project's client (that is what these helpers exist to test).
 */
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MANIFEST_ACCEPT, MediaType } from '../../src/oci/media-types.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { fetchToken } from '../helpers/token-server.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

// Throws under MOTE_REQUIRE_SERVICES=1 when the tools are missing: there the file must fail, not skip.
const reason = registryUnavailableReason();
const ACCEPT = MANIFEST_ACCEPT.join(', ');
const sha256 = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe.skipIf(!!reason)(`registry test infrastructure${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let layout: string;
  let plain: RegistryHandle;
  let image: BuiltImage;

  beforeAll(async () => {
    tmp = makeTempDir('motecache-reginfra-');
    layout = path.join(tmp.dir, 'layout');
    plain = await startRegistry();
    image = await makeImage(layout, { tag: 'v1', layers: [{ size: 1024 * 1024 }, { size: 300 * 1024 }] });
  });
  afterAll(async () => {
    await plain?.stop();
    tmp?.cleanup();
  });

  test('makeImage writes a layout umoci accepts and unpacks, with the files the layers promise', () => {
    const bundle = path.join(tmp.dir, 'bundle');
    const r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${layout}:v1`, bundle], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.statSync(path.join(bundle, 'rootfs', 'layer0', 'data.bin')).size).toBe(1024 * 1024);
    expect(fs.statSync(path.join(bundle, 'rootfs', 'layer1', 'data.bin')).size).toBe(300 * 1024);
    // Every blob is stored under its own digest.
    for (const d of image.blobs) {
      const bytes = fs.readFileSync(path.join(layout, 'blobs', 'sha256', d.digest.slice(7)));
      expect(sha256(bytes)).toBe(d.digest);
      expect(bytes.length).toBe(d.size);
    }
    expect(image.blobs).toHaveLength(4); // 2 layers, config, manifest
  });

  test('push to a plain registry keeps the digest; requests() and blobGets() read the registry log', async () => {
    await pushLayout(layout, 'v1', plain, 'infra/plain:v1');
    const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${plain.host}/infra/plain:v1`])).stdout);
    expect(inspected.Digest).toBe(image.digest);

    const reqs = await plain.requests();
    expect(reqs).toContainEqual({ method: 'PUT', path: '/v2/infra/plain/manifests/v1', status: 201 });
    expect(reqs.filter((r) => r.method === 'PUT' && r.path.startsWith('/v2/infra/plain/blobs/uploads/') && r.status === 201)).toHaveLength(3);

    // skopeo inspect read the config blob (and only it): the log shows a real client's GETs too.
    expect(await plain.blobGets(image.manifests[0]!.config.digest)).toBe(1);
    expect(await plain.blobGets()).toBe(1);

    const layer = image.manifests[0]!.layers[0]!;
    expect(await plain.blobGets(layer.digest)).toBe(0);
    const res = await fetch(`${plain.url}/v2/infra/plain/blobs/${layer.digest}`);
    expect(res.status).toBe(200);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(layer.digest);
    expect(await plain.blobGets(layer.digest)).toBe(1);
    // A ranged GET (206) counts; a 404 does not.
    const part = await fetch(`${plain.url}/v2/infra/plain/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(10);
    await (await fetch(`${plain.url}/v2/infra/plain/blobs/sha256:${'0'.repeat(64)}`)).arrayBuffer();
    expect(await plain.blobGets(layer.digest)).toBe(2);
    expect(await plain.blobGets()).toBe(3);
    expect((await plain.requests()).at(-1)).toEqual({ method: 'GET', path: `/v2/infra/plain/blobs/sha256:${'0'.repeat(64)}`, status: 404 });
  });

  test('uncompressed layers are pushed as they are (no recompression)', async () => {
    const raw = await makeImage(layout, { tag: 'raw', layers: [{ size: 64 * 1024 }], compress: false });
    expect(raw.manifests[0]!.layers[0]!.mediaType).toBe(MediaType.OciLayerTar);
    await pushLayout(layout, 'raw', plain, 'infra/raw:v1');
    const res = await fetch(`${plain.url}/v2/infra/raw/manifests/v1`, { headers: { accept: ACCEPT } });
    expect(res.headers.get('docker-content-digest')).toBe(raw.digest);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(raw.digest);
  });

  test('a two-platform image is pushed as an index with distinct layers', async () => {
    const multi = await makeImage(layout, {
      tag: 'multi',
      layers: [{ size: 128 * 1024, seed: 'same' }],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
      ],
    });
    expect(multi.mediaType).toBe(MediaType.OciIndex);
    expect(multi.manifests[0]!.layers[0]!.digest).not.toBe(multi.manifests[1]!.layers[0]!.digest);
    await pushLayout(layout, 'multi', plain, 'infra/multi:v1');
    const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${plain.host}/infra/multi:v1`])).stdout;
    expect(sha256(Buffer.from(raw))).toBe(multi.digest);
    const index = JSON.parse(raw);
    expect(index.mediaType).toBe(MediaType.OciIndex);
    expect(index.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    // Both platform manifests made it.
    for (const m of multi.manifests) {
      const r = await fetch(`${plain.url}/v2/infra/multi/manifests/${m.digest}`, { method: 'HEAD', headers: { accept: ACCEPT } });
      expect(r.status).toBe(200);
    }
  });

  test('proxyRemoteUrl runs a pull-through cache that serves from upstream, then from its own storage', async () => {
    await pushLayout(layout, 'v1', plain, 'infra/upstream:v1');
    const cache = await startRegistry({ proxyRemoteUrl: plain.url });
    try {
      const m = await fetch(`${cache.url}/v2/infra/upstream/manifests/${image.digest}`, { headers: { accept: ACCEPT } });
      expect(m.status).toBe(200);
      expect(sha256(new Uint8Array(await m.arrayBuffer()))).toBe(image.digest);
      const layer = image.manifests[0]!.layers[1]!;
      const upstreamBefore = await plain.blobGets(layer.digest);
      const get = async () => {
        const b = await fetch(`${cache.url}/v2/infra/upstream/blobs/${layer.digest}`);
        expect(sha256(new Uint8Array(await b.arrayBuffer()))).toBe(layer.digest);
      };
      await get();
      // The cache commits the blob to its storage after answering (2.8.2 fetches it upstream a second time to do
      // so); once it is there, a GET is answered from the cache alone.
      const stored = path.join(cache.root, 'docker/registry/v2/blobs/sha256', layer.digest.slice(7, 9), layer.digest.slice(7), 'data');
      for (let i = 0; i < 500 && !fs.existsSync(stored); i++) await new Promise((r) => setTimeout(r, 10));
      expect(fs.statSync(stored).size).toBe(layer.size);
      // The upstream's access log shows a request when it has finished: the commit's second fetch may still be
      // streaming (a slow machine), so wait until the count holds still before taking it as the baseline.
      let upstreamAfterFirst = await plain.blobGets(layer.digest);
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const now = await plain.blobGets(layer.digest);
        if (now === upstreamAfterFirst) break;
        upstreamAfterFirst = now;
      }
      expect(upstreamAfterFirst).toBeGreaterThan(upstreamBefore);
      await get();
      expect(await cache.blobGets(layer.digest)).toBe(2);
      expect(await plain.blobGets(layer.digest)).toBe(upstreamAfterFirst);
      const push = await fetch(`${cache.url}/v2/infra/other/blobs/uploads/`, { method: 'POST' });
      await push.arrayBuffer();
      expect(push.status).toBe(405);
    } finally {
      await cache.stop();
    }
  });

  describe('basic auth', () => {
    let reg: RegistryHandle;
    beforeAll(async () => {
      reg = await startRegistry({ auth: 'basic' });
    });
    afterAll(() => reg?.stop());

    test('401 with a Basic challenge, 200 with the credentials, skopeo pushes with them', async () => {
      const anon = await fetch(`${reg.url}/v2/`);
      await anon.arrayBuffer();
      expect(anon.status).toBe(401);
      expect(anon.headers.get('www-authenticate')).toMatch(/^Basic /);
      const wrong = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic(reg.username!, 'not-the-password') } });
      await wrong.arrayBuffer();
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${reg.url}/v2/`, { headers: { authorization: basic(reg.username!, reg.password!) } });
      await ok.arrayBuffer();
      expect(ok.status).toBe(200);

      await pushLayout(layout, 'v1', reg, 'infra/basic:v1');
      const m = await fetch(`${reg.url}/v2/infra/basic/manifests/v1`, {
        headers: { accept: ACCEPT, authorization: basic(reg.username!, reg.password!) },
      });
      expect(m.status).toBe(200);
      expect(sha256(new Uint8Array(await m.arrayBuffer()))).toBe(image.digest);
      expect(await reg.requests()).toContainEqual({ method: 'PUT', path: '/v2/infra/basic/manifests/v1', status: 201 });
    });
  });

  describe('token auth', () => {
    let reg: RegistryHandle;
    beforeAll(async () => {
      reg = await startRegistry({ auth: 'token' });
    });
    afterAll(() => reg?.stop());

    // By hand, not with fetchToken(): this checks the token server's wire format.
    const getToken = async (auth?: string) => {
      const ts = reg.tokenServer!;
      const u = new URL(ts.realm);
      u.searchParams.set('service', ts.service);
      u.searchParams.set('scope', 'repository:infra/token:pull,push');
      const r = await fetch(u, auth ? { headers: { authorization: auth } } : {});
      return { status: r.status, body: (await r.json()) as { token?: string; access_token?: string; expires_in?: number } };
    };

    test('Bearer challenge, tokens for the right user, 401 for wrong credentials, nothing for anonymous', async () => {
      const ts = reg.tokenServer!;
      const challenge = await fetch(`${reg.url}/v2/`);
      await challenge.arrayBuffer();
      expect(challenge.status).toBe(401);
      const www = challenge.headers.get('www-authenticate') ?? '';
      expect(www).toMatch(/^Bearer /);
      expect(www).toContain(`realm="${ts.realm}"`);
      expect(www).toContain(`service="${ts.service}"`);

      await pushLayout(layout, 'v1', reg, 'infra/token:v1');
      expect(ts.issued).toBeGreaterThan(0);

      const good = await getToken(basic(reg.username!, reg.password!));
      expect(good.status).toBe(200);
      expect(good.body.token).toBe(good.body.access_token);
      expect(good.body.expires_in).toBeGreaterThan(0);
      const m = await fetch(`${reg.url}/v2/infra/token/manifests/v1`, {
        headers: { accept: ACCEPT, authorization: `Bearer ${good.body.token}` },
      });
      expect(m.status).toBe(200);
      expect(sha256(new Uint8Array(await m.arrayBuffer()))).toBe(image.digest);

      const bad = await getToken(basic(reg.username!, 'wrong'));
      expect(bad.status).toBe(401);
      expect(bad.body.token).toBeUndefined();
      expect(ts.requests.at(-1)).toMatchObject({ account: reg.username, authorized: false });

      const anon = await getToken();
      expect(anon.status).toBe(200);
      const denied = await fetch(`${reg.url}/v2/infra/token/manifests/v1`, {
        headers: { accept: ACCEPT, authorization: `Bearer ${anon.body.token}` },
      });
      await denied.arrayBuffer();
      expect([401, 403]).toContain(denied.status);
    });

    test('anonymousPull grants pull (not push) to anonymous clients', async () => {
      const open = await startRegistry({ auth: 'token', anonymousPull: true });
      try {
        await pushLayout(layout, 'v1', open, 'infra/open:v1');
        const { status, token } = await fetchToken(open.tokenServer!, ['repository:infra/open:pull,push']);
        expect(status).toBe(200);
        const m = await fetch(`${open.url}/v2/infra/open/manifests/v1`, { headers: { accept: ACCEPT, authorization: `Bearer ${token}` } });
        expect(m.status).toBe(200);
        await m.arrayBuffer();
        const push = await fetch(`${open.url}/v2/infra/open/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
        await push.arrayBuffer();
        expect([401, 403]).toContain(push.status);
      } finally {
        await open.stop();
      }
    });
  });

  describe('FaultInjectingProxy', () => {
    let proxy: FaultInjectingProxy;
    beforeAll(async () => {
      proxy = await FaultInjectingProxy.start(plain.host);
    });
    afterAll(() => proxy?.stop());

    const layer = () => image.manifests[0]!.layers[0]!;

    test('passes a blob GET through byte for byte, and the registry served it', async () => {
      proxy.rule = () => 'pass';
      const before = await plain.blobGets(layer().digest);
      const r = await fetch(`${proxy.url}/v2/infra/plain/blobs/${layer().digest}`);
      expect(r.status).toBe(200);
      const bytes = new Uint8Array(await r.arrayBuffer());
      expect(bytes.length).toBe(layer().size);
      expect(sha256(bytes)).toBe(layer().digest);
      expect(await plain.blobGets(layer().digest)).toBe(before + 1);
      expect(proxy.requests.at(-1)).toMatchObject({ method: 'GET', status: 200, action: 'pass', bytesSent: layer().size });
    });

    test('a push through the proxy stays on the proxy (Location points back at it)', async () => {
      proxy.rule = () => 'pass';
      const seen = proxy.requests.length;
      await pushLayout(layout, 'v1', { ...plain, host: proxy.host, url: proxy.url }, 'infra/via-proxy:v1');
      const mine = proxy.requests.slice(seen);
      expect(mine.some((r) => r.method === 'PUT' && r.path === '/v2/infra/via-proxy/manifests/v1' && r.status === 201)).toBe(true);
      // Upload sessions continued through the proxy: the PUT that completes a blob went to a Location URL.
      expect(mine.some((r) => r.method === 'PUT' && r.path.startsWith('/v2/infra/via-proxy/blobs/uploads/') && r.url.includes('digest='))).toBe(true);
    });

    test('a status action is answered locally; the registry never sees the request', async () => {
      const path429 = `/v2/infra/plain/blobs/${layer().digest}`;
      proxy.rule = (req) => (req.path === path429 ? { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' } : 'pass');
      const before = (await plain.requests()).length;
      const r = await fetch(`${proxy.url}${path429}`);
      expect(r.status).toBe(429);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await r.text()).toBe('slow down');
      expect((await plain.requests()).slice(before)).toEqual([]);
      expect(proxy.requests.at(-1)).toMatchObject({ status: 429, action: 'status:429' });
    });

    test('dropAfterBytes delivers exactly N bytes, then the connection fails', async () => {
      const N = 100_000;
      proxy.rule = (req) => (req.path.includes('/blobs/') ? { dropAfterBytes: N } : 'pass');
      const r = await fetch(`${proxy.url}/v2/infra/plain/blobs/${layer().digest}`);
      expect(r.status).toBe(200);
      expect(Number(r.headers.get('content-length'))).toBe(layer().size);
      const reader = r.body!.getReader();
      let got = 0;
      let failure: unknown;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          got += value.length;
        }
      } catch (err) {
        failure = err;
      }
      expect(failure).toBeDefined();
      expect(got).toBe(N);
      expect(proxy.requests.at(-1)).toMatchObject({ action: `drop:${N}`, bytesSent: N, status: 200 });
    });
  });
});
