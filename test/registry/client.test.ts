/**
 * RegistryClient against real registries (docker-registry 2.8.2: plain, htpasswd Basic, Bearer tokens), images
 * pushed by skopeo and by the client itself, and the FaultInjectingProxy (a hand-written fake, only for faults a
 * real registry cannot produce: 429/503, a lying registry, a body cut short).
 */
import dns from 'node:dns/promises';
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { digestOf } from '../../src/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import {
  RegistryAuthError,
  RegistryClient,
  RegistryInsecureError,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryUnavailableError,
  RegistryRateLimitError,
  RegistryRangeError,
  transportFor,
  isLoopbackHost,
  apiHost,
  type RegistryClientOptions,
  type RegistryEvent,
} from '../../src/registry/index.js';
import { registryUnavailableReason, startRegistry, pushLayout, type RegistryHandle } from '../helpers/registry.js';
import { makeImage } from '../helpers/images.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { makeTempDir, randomData, readAll } from '../helpers/tmp.js';

const skip = registryUnavailableReason();

function client(o: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ credentials: false, ...o });
}

function authFileFor(dir: string, host: string, username: string, password: string): string {
  const file = path.join(dir, `auth-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } }));
  return file;
}

/** A config blob, a layer and an OCI manifest, pushed with the client; returns what was pushed. */
async function pushSmallImage(c: RegistryClient, repo: string, tag: string, layerSize = 50_000) {
  const layer = randomData(layerSize);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layerDigest = digestOf(layer);
  const configDigest = digestOf(config);
  await c.pushBlob(repo, layerDigest, layer);
  await c.pushBlob(repo, configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
      layers: [{ mediaType: MediaType.OciLayerTar, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = await c.putManifest(repo, tag, manifest, MediaType.OciManifest);
  return { layer, layerDigest, config, configDigest, manifest, manifestDigest };
}

describe('scheme decision', () => {
  it('loopback by name only; insecure hosts try https then http; everything else verified https', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
    for (const h of ['localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', 'foo.localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['vm:5000', '10.0.0.1', '127.0.0.1.nip.io', 'ghcr.io', '[::2]:1']) expect(isLoopbackHost(h), h).toBe(false);
    expect(transportFor('127.0.0.1:5000')).toEqual({ schemes: ['http'], verifyTls: true });
    expect(transportFor('ghcr.io')).toEqual({ schemes: ['https'], verifyTls: true });
    expect(transportFor('docker.io')).toEqual({ schemes: ['https'], verifyTls: true });
    expect(transportFor('reg.lan:5000', ['reg.lan:5000'])).toEqual({ schemes: ['https', 'http'], verifyTls: false });
    expect(transportFor('reg.lan:5000', ['reg.lan'])).toEqual({ schemes: ['https', 'http'], verifyTls: false });
    expect(transportFor('reg.lan:5000', ['reg.lan:6000'])).toEqual({ schemes: ['https'], verifyTls: true });
  });
});

describe.skipIf(skip)('RegistryClient: plain registry', () => {
  let reg: RegistryHandle;
  let scratch: ReturnType<typeof makeTempDir>;
  const c = client();
  beforeAll(async () => {
    scratch = makeTempDir();
    reg = await startRegistry();
  }, 120_000);
  afterAll(async () => {
    await c.close();
    await reg?.stop();
    scratch?.cleanup();
  });

  it('ping', async () => {
    expect(await c.ping(reg.host)).toEqual({ apiVersion: 'registry/2.0' });
  });

  it('pushBlob (monolithic, chunked, already there), putManifest, then reads by tag, digest and HEAD', async () => {
    const repo = `${reg.host}/client/push`;
    const img = await pushSmallImage(c, repo, 'v1');
    expect(img.manifestDigest).toBe(digestOf(img.manifest));
    // Chunked upload of a stream, PATCH by PATCH.
    const big = randomData(300_000);
    const r = await c.pushBlob(repo, digestOf(big), (async function* () {
      for (let i = 0; i < big.length; i += 70_000) yield big.subarray(i, i + 70_000);
    })(), { chunkSize: 64 * 1024, size: big.length });
    expect(r).toEqual({ digest: digestOf(big), size: big.length, existed: false });
    const patches = (await reg.requests()).filter((q) => q.method === 'PATCH');
    expect(patches).toHaveLength(Math.ceil(big.length / (64 * 1024)));
    expect(await c.pushBlob(repo, digestOf(big), big)).toEqual({ digest: digestOf(big), size: big.length, existed: true });

    const byTag = await c.getManifest(repo, 'v1');
    expect(byTag.bytes.equals(img.manifest)).toBe(true);
    expect(byTag.descriptor).toEqual({ mediaType: MediaType.OciManifest, digest: img.manifestDigest, size: img.manifest.length });
    const byDigest = await c.getManifest(repo, img.manifestDigest);
    expect(byDigest.bytes.equals(img.manifest)).toBe(true);
    expect(await c.headManifest(repo, 'v1')).toEqual(byTag.descriptor);
    expect(await c.headBlob(repo, img.layerDigest)).toMatchObject({ digest: img.layerDigest, size: img.layer.length });
    const blob = await c.getBlob(repo, img.layerDigest);
    expect(blob).toMatchObject({ size: img.layer.length, offset: 0, length: img.layer.length });
    expect((await readAll(blob.body)).equals(img.layer)).toBe(true);
    expect((await readAll((await c.getBlob(repo, digestOf(big))).body)).equals(big)).toBe(true);
  });

  it('a pushed stream that does not hash to its digest is refused and nothing is stored', async () => {
    const repo = `${reg.host}/client/bad`;
    const data = randomData(10_000);
    const claimed = digestOf('something else');
    await expect(c.pushBlob(repo, claimed, data)).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
    await expect(
      c.pushBlob(repo, claimed, (async function* () {
        yield data;
      })(), { size: data.length }),
    ).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
    await expect(c.headBlob(repo, claimed)).rejects.toBeInstanceOf(RegistryNotFoundError);
  });

  it('tags: every tag of a repository (distribution 2.8.2 ignores `n`: pagination is tested through the proxy)', async () => {
    const repo = `${reg.host}/client/tags`;
    const img = await pushSmallImage(c, repo, 't1', 100);
    for (const t of ['t2', 't3', 't4', 't5']) await c.putManifest(repo, t, img.manifest, MediaType.OciManifest);
    expect((await c.tags(repo, { pageSize: 2 })).sort()).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect((await c.tags(repo)).sort()).toEqual(['t1', 't2', 't3', 't4', 't5']);
  });

  it('reads an OCI index pushed by skopeo, its manifests by digest, and their blobs', async () => {
    const image = await makeImage(path.join(scratch.dir, 'multi'), {
      tag: 'multi',
      layers: [{ size: 20_000 }],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    await pushLayout(image.layout, image.tag, reg, 'client/skopeo:multi');
    const repo = `${reg.host}/client/skopeo`;
    const index = await c.getManifest(repo, 'multi');
    expect(index.descriptor).toEqual({ mediaType: MediaType.OciIndex, digest: image.digest, size: image.size });
    for (const m of image.manifests) {
      const got = await c.getManifest(repo, m.digest);
      expect(got.descriptor.digest).toBe(m.digest);
      for (const l of m.layers) {
        const body = await readAll((await c.getBlob(repo, l.digest)).body);
        expect(digestOf(body)).toBe(l.digest);
      }
    }
  }, 120_000);

  it('ranges: 206 with Content-Range, open-ended, offset = size is empty, past the end is a 416 never read', async () => {
    const repo = `${reg.host}/client/range`;
    const data = randomData(100_000);
    const d = digestOf(data);
    await c.pushBlob(repo, d, data);
    const part = await c.getBlob(repo, d, { offset: 1000, length: 500 });
    expect(part).toMatchObject({ size: data.length, offset: 1000, length: 500 });
    expect((await readAll(part.body)).equals(data.subarray(1000, 1500))).toBe(true);
    const tail = await c.getBlob(repo, d, { offset: 99_000 });
    expect((await readAll(tail.body)).equals(data.subarray(99_000))).toBe(true);
    const clipped = await c.getBlob(repo, d, { offset: 99_990, length: 100 });
    expect(clipped.length).toBe(10);
    expect((await readAll(clipped.body)).equals(data.subarray(99_990))).toBe(true);
    const atEnd = await c.getBlob(repo, d, { offset: data.length });
    expect(atEnd.length).toBe(0);
    expect(await readAll(atEnd.body)).toHaveLength(0);
    await expect(c.getBlob(repo, d, { offset: data.length + 10 })).rejects.toMatchObject({ code: 'ERR_REGISTRY', status: 416 });
    // The client is still usable afterwards (the 416's lying body did not poison a connection).
    expect((await readAll((await c.getBlob(repo, d, { offset: 5, length: 5 })).body)).equals(data.subarray(5, 10))).toBe(true);
  });

  it('mount between repositories: 201 mounted; a blob the source lacks opens a session that is cancelled', async () => {
    const data = randomData(5000);
    const d = digestOf(data);
    await c.pushBlob(`${reg.host}/client/mount-src`, d, data);
    expect(await c.mountBlob(`${reg.host}/client/mount-dst`, d, `${reg.host}/client/mount-src`)).toBe(true);
    expect(await c.headBlob(`${reg.host}/client/mount-dst`, d)).toMatchObject({ size: data.length });
    const absent = digestOf('not anywhere');
    expect(await c.mountBlob(`${reg.host}/client/mount-dst2`, absent, `${reg.host}/client/mount-src`)).toBe(false);
    const reqs = await reg.requests();
    expect(reqs.some((q) => q.method === 'DELETE' && q.path.startsWith('/v2/client/mount-dst2/blobs/uploads/'))).toBe(true);
  });

  it('404s are typed with the registry code', async () => {
    const repo = `${reg.host}/client/push`;
    await expect(c.getManifest(`${reg.host}/no/such-repo`, 'latest')).rejects.toMatchObject({
      code: 'ERR_REGISTRY_NOT_FOUND',
      registryCode: expect.stringMatching(/NAME_UNKNOWN|MANIFEST_UNKNOWN/),
      status: 404,
    });
    await expect(c.getManifest(repo, 'no-such-tag')).rejects.toMatchObject({ code: 'ERR_REGISTRY_NOT_FOUND', registryCode: 'MANIFEST_UNKNOWN' });
    const unknown = digestOf('unknown blob');
    await expect(c.getBlob(repo, unknown)).rejects.toMatchObject({ code: 'ERR_REGISTRY_NOT_FOUND', registryCode: 'BLOB_UNKNOWN' });
    await expect(c.headBlob(repo, unknown)).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(c.tags(`${reg.host}/no/such-repo`)).rejects.toMatchObject({ code: 'ERR_REGISTRY_NOT_FOUND', registryCode: 'NAME_UNKNOWN' });
  });

  it('bad input is refused before any request', async () => {
    const before = (await reg.requests()).length;
    await expect(c.getBlob(`${reg.host}/client/x`, 'sha256:../../etc')).rejects.toMatchObject({ code: 'ERR_INVALID_DIGEST' });
    await expect(c.getManifest(`${reg.host}/client/x`, 'bad tag')).rejects.toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
    await expect(c.getManifest({ registry: reg.host, repository: '../x' }, 'v1')).rejects.toMatchObject({ code: 'ERR_INVALID_REFERENCE' });
    expect((await reg.requests()).length).toBe(before);
  });

  it('a throwing onBytes listener does not fail the read or crash the process', async () => {
    const repo = `${reg.host}/client/onbytes`;
    const data = randomData(200_000);
    await c.pushBlob(repo, digestOf(data), data);
    let calls = 0;
    const blob = await c.getBlob(repo, digestOf(data), {
      onBytes: () => {
        calls++;
        throw new Error('listener bug');
      },
    });
    expect((await readAll(blob.body)).equals(data)).toBe(true);
    expect(calls).toBeGreaterThan(0);
  });

  it('pushBlob: a stream longer or shorter than `size` is a SizeMismatchError; the source is closed when not read', async () => {
    const repo = `${reg.host}/client/size`;
    const data = randomData(10_000);
    const gen = (bytes: Buffer) =>
      (async function* () {
        yield bytes;
      })();
    await expect(c.pushBlob(repo, digestOf(data), gen(data), { size: data.length - 1 })).rejects.toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH', expected: data.length - 1 });
    await expect(c.pushBlob(repo, digestOf(data), gen(data), { size: data.length + 1 })).rejects.toMatchObject({
      code: 'ERR_MOTE_SIZE_MISMATCH',
      expected: data.length + 1,
      actual: data.length,
    });
    await expect(c.pushBlob(repo, digestOf(data), gen(data), { size: data.length - 1, chunkSize: 4096 })).rejects.toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH' });
    await expect(c.headBlob(repo, digestOf(data))).rejects.toBeInstanceOf(RegistryNotFoundError);
    // Already there: the generator is returned (its finally runs), not left suspended.
    await c.pushBlob(repo, digestOf(data), data);
    let closed = false;
    const src = (async function* () {
      try {
        yield data;
      } finally {
        closed = true;
      }
    })();
    await src.next(); // started: suspended at its yield, as a partly read source would be
    expect(await c.pushBlob(repo, digestOf(data), src, { size: data.length })).toMatchObject({ existed: true });
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(true);
  });

  it('TLS spoken to this plain-HTTP registry (an https redirect) is RegistryInsecureError; a "tls" host name that does not resolve is not', async () => {
    // The redirect comes from a proxy answering locally; the TLS attempt itself is against the real registry.
    const proxy = await FaultInjectingProxy.start(reg.host, (r) =>
      r.path.includes('/blobs/') ? { status: 307, headers: { location: `https://${reg.host}${r.url}` } } : 'pass',
    );
    const d = digestOf(randomData(10));
    const err = await c.getBlob(`${proxy.host}/client/tls`, d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryInsecureError);
    expect((err as Error).message).toContain(`--insecure ${reg.host}`);
    proxy.rule = (r) => (r.path.includes('/blobs/') ? { status: 307, headers: { location: `https://tls-mirror.invalid${r.url}` } } : 'pass');
    const c2 = client({ retry: { baseDelayMs: 1, maxDelayMs: 5 } });
    const dnsErr = await c2.getBlob(`${proxy.host}/client/tls`, d).catch((e: unknown) => e);
    await c2.close();
    await proxy.stop();
    expect(dnsErr).toBeInstanceOf(RegistryUnavailableError);
    expect((dnsErr as Error).message).not.toContain('--insecure');
  });

  it('plain HTTP is not used for a host that is loopback only through DNS unless it is marked insecure', async (ctx) => {
    const name = os.hostname();
    const addr = await dns.lookup(name).catch(() => undefined);
    if (!addr || !addr.address.startsWith('127.0.0.1') || isLoopbackHost(name)) return ctx.skip();
    const port = reg.host.split(':')[1];
    const strict = client();
    const err = await strict.ping(`${name}:${port}`).catch((e: unknown) => e);
    await strict.close();
    expect(err).toBeInstanceOf(RegistryInsecureError);
    expect((err as Error).message).toContain(`--insecure ${name}:${port}`);
    const lenient = client({ insecure: [`${name}:${port}`] });
    expect(await lenient.ping(`${name}:${port}`)).toEqual({ apiVersion: 'registry/2.0' });
    expect(lenient.urlFor(`${name}:${port}`, '/v2/')).toBe(`http://${name}:${port}/v2/`);
    await lenient.close();
  });
});

describe.skipIf(skip)('RegistryClient: htpasswd Basic auth', () => {
  let reg: RegistryHandle;
  let scratch: ReturnType<typeof makeTempDir>;
  beforeAll(async () => {
    scratch = makeTempDir();
    reg = await startRegistry({ auth: 'basic' });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    scratch?.cleanup();
  });

  it('the right credentials from an auth file push and pull', async () => {
    const c = new RegistryClient({ authFile: authFileFor(scratch.dir, reg.host, reg.username!, reg.password!) });
    const img = await pushSmallImage(c, `${reg.host}/basic/app`, 'v1');
    expect((await c.getManifest(`${reg.host}/basic/app`, 'v1')).bytes.equals(img.manifest)).toBe(true);
    await c.close();
  });

  it('wrong credentials: RegistryAuthError, and the password is in no message or event', async () => {
    const events: RegistryEvent[] = [];
    const wrong = 'wrong-PASSWORD-123';
    const c = new RegistryClient({ authFile: authFileFor(scratch.dir, reg.host, reg.username!, wrong), onEvent: (e) => events.push(e) });
    const err = await c.tags(`${reg.host}/basic/app`).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(err).toMatchObject({ code: 'ERR_REGISTRY_AUTH', status: 401, registryCode: 'UNAUTHORIZED' });
    const all = `${(err as Error).message} ${JSON.stringify(err)} ${JSON.stringify(events)}`;
    expect(all).not.toContain(wrong);
    expect(all).not.toContain(Buffer.from(`${reg.username}:${wrong}`).toString('base64'));
  });

  it('a 401 whose credential lookup throws (auth file broken mid-run) releases its body: no listener or connection held', async () => {
    const file = authFileFor(scratch.dir, reg.host, reg.username!, reg.password!);
    const good = fs.readFileSync(file, 'utf8');
    // One connection: a response body left unreleased would keep it from serving the next request.
    const c = new RegistryClient({ authFile: file, connections: 1, timeoutMs: 10_000 });
    // Broken after the client was built (which checks an explicit file): found when the registry asks.
    fs.writeFileSync(file, '{"auths": {"broken": ');
    const ac = new AbortController();
    await expect(c.tags(`${reg.host}/basic/app`, { signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_INVALID_CREDENTIALS' });
    // undici removes its abort listener when the body closes; the client's own races remove theirs on settling.
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    fs.writeFileSync(file, good);
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await c.ping(reg.host)).toEqual({ apiVersion: 'registry/2.0' });
    await c.close();
  });

  it('no credentials: RegistryAuthError', async () => {
    const c = client();
    await expect(c.getManifest(`${reg.host}/basic/app`, 'v1')).rejects.toMatchObject({ code: 'ERR_REGISTRY_AUTH', status: 401 });
    await c.close();
  });
});

describe.skipIf(skip)('RegistryClient: Bearer tokens', () => {
  let reg: RegistryHandle;
  let closed: RegistryHandle;
  let scratch: ReturnType<typeof makeTempDir>;
  beforeAll(async () => {
    scratch = makeTempDir();
    [reg, closed] = await Promise.all([startRegistry({ auth: 'token', anonymousPull: true }), startRegistry({ auth: 'token', anonymousPull: false })]);
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    await closed?.stop();
    scratch?.cleanup();
  });

  it('credentialed push; anonymous pull; one token per scope, reused', async () => {
    const pusher = new RegistryClient({ authFile: authFileFor(scratch.dir, reg.host, reg.username!, reg.password!) });
    const img = await pushSmallImage(pusher, `${reg.host}/tok/app`, 'v1');
    await pusher.close();
    expect(reg.tokenServer!.requests.some((r) => r.account === reg.username && r.scope.includes('repository:tok/app:pull,push'))).toBe(true);

    const anon = client();
    const issuedBefore = reg.tokenServer!.issued;
    for (let i = 0; i < 10; i++) {
      expect((await anon.getManifest(`${reg.host}/tok/app`, 'v1')).bytes.equals(img.manifest)).toBe(true);
      await anon.headBlob(`${reg.host}/tok/app`, img.layerDigest);
      await readAll((await anon.getBlob(`${reg.host}/tok/app`, img.layerDigest, { offset: i, length: 10 })).body);
    }
    expect(reg.tokenServer!.issued - issuedBefore).toBe(1);
    const last = reg.tokenServer!.requests.at(-1)!;
    expect(last.scope).toEqual(['repository:tok/app:pull']);
    expect(last.account).toBeUndefined();
    await anon.close();
  });

  it('anonymous access to a registry that allows none: RegistryAuthError', async () => {
    const c = client();
    await expect(c.getManifest(`${closed.host}/tok/app`, 'v1')).rejects.toBeInstanceOf(RegistryAuthError);
    await c.close();
  });

  it('wrong credentials at the token server: RegistryAuthError without the secret', async () => {
    const wrong = 'not-the-PASSWORD';
    const c = new RegistryClient({ authFile: authFileFor(scratch.dir, closed.host, closed.username!, wrong) });
    const err = await c.tags(`${closed.host}/tok/app`).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).not.toContain(wrong);
  });
});

describe.skipIf(skip)('RegistryClient through the FaultInjectingProxy (fake faults in front of a real registry)', () => {
  let reg: RegistryHandle;
  let proxy: FaultInjectingProxy;
  let img: Awaited<ReturnType<typeof pushSmallImage>>;
  const repoPath = 'faults/app';
  beforeAll(async () => {
    reg = await startRegistry();
    const c = client();
    img = await pushSmallImage(c, `${reg.host}/${repoPath}`, 'v1', 200_000);
    await c.close();
    proxy = await FaultInjectingProxy.start(reg.host);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
  });
  const repo = () => `${proxy.host}/${repoPath}`;
  const fresh = (events?: RegistryEvent[], o: RegistryClientOptions = {}) =>
    client({ retry: { baseDelayMs: 1, maxDelayMs: 5 }, onEvent: (e) => events?.push(e), ...o });
  const since = (n: number) => proxy.requests.slice(n);

  it('tags pagination: pageSize 2 over 5 tags follows Link: rel="next" to the end', async () => {
    // distribution 2.8.2 does not paginate tags/list; the proxy serves the pages the spec describes.
    const all = ['a1', 'a2', 'a3', 'a4', 'a5'];
    proxy.rule = (r) => {
      if (!r.path.endsWith('/tags/list')) return 'pass';
      const q = new URL(r.url, 'http://x').searchParams;
      const n = Number(q.get('n'));
      const from = q.get('last') ? all.indexOf(q.get('last')!) + 1 : 0;
      const tags = all.slice(from, from + n);
      const more = from + n < all.length;
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          ...(more ? { link: `</v2/${repoPath}/tags/list?n=${n}&last=${tags.at(-1)}>; rel="next"` } : {}),
        },
        body: JSON.stringify({ name: repoPath, tags }),
      };
    };
    const c = fresh();
    const start = proxy.requests.length;
    expect(await c.tags(repo(), { pageSize: 2 })).toEqual(all);
    expect(since(start).filter((q) => q.path.endsWith('/tags/list')).map((q) => q.url.split('?')[1])).toEqual(['n=2', 'n=2&last=a2', 'n=2&last=a4']);
    await c.close();
  });

  it('a wrong Docker-Content-Digest is a DigestMismatchError', async () => {
    proxy.rule = (r) =>
      r.path.includes('/manifests/')
        ? { status: 200, headers: { 'content-type': MediaType.OciManifest, 'docker-content-digest': digestOf('other') }, body: img.manifest.toString() }
        : 'pass';
    const c = fresh();
    await expect(c.getManifest(repo(), 'v1')).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH', expected: digestOf('other') });
    await c.close();
  });

  it('a tampered manifest fetched by digest is a DigestMismatchError', async () => {
    const tampered = img.manifest.toString().replace('"schemaVersion":2', '"schemaVersion":2 ');
    proxy.rule = (r) => (r.path.includes('/manifests/') ? { status: 200, headers: { 'content-type': MediaType.OciManifest }, body: tampered } : 'pass');
    const c = fresh();
    await expect(c.getManifest(repo(), img.manifestDigest)).rejects.toMatchObject({
      code: 'ERR_MOTE_DIGEST_MISMATCH',
      expected: img.manifestDigest,
      actual: digestOf(tampered),
      // It names the object and where it came from.
      source: `manifest ${repo()}@${img.manifestDigest}`,
    });
    await c.close();
  });

  it('a blob body cut short errors with RegistryProtocolError', async () => {
    proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { dropAfterBytes: 1000 } : 'pass');
    const c = fresh();
    const blob = await c.getBlob(repo(), img.layerDigest);
    const err = await readAll(blob.body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryProtocolError);
    expect((err as Error).message).toMatch(/ended after \d+ of 200000 bytes/);
    await c.close();
  });

  it('503 twice then success: three attempts', async () => {
    let n = 0;
    proxy.rule = (r) => (r.path.includes('/manifests/') && n++ < 2 ? { status: 503 } : 'pass');
    const events: RegistryEvent[] = [];
    const c = fresh(events);
    const start = proxy.requests.length;
    expect((await c.getManifest(repo(), 'v1')).bytes.equals(img.manifest)).toBe(true);
    expect(since(start).filter((q) => q.path.includes('/manifests/')).map((q) => q.status)).toEqual([503, 503, 200]);
    expect(events.filter((e) => e.type === 'retry').map((e) => (e as { attempt: number }).attempt)).toEqual([1, 2]);
    await c.close();
  });

  it('429 with Retry-After: 1 is waited for (the retry event says 1000 ms) and the rate is cut', async () => {
    let n = 0;
    proxy.rule = (r) => (r.path.includes('/manifests/') && n++ < 1 ? { status: 429, headers: { 'retry-after': '1' } } : 'pass');
    const events: RegistryEvent[] = [];
    const c = fresh(events);
    await c.getManifest(repo(), 'v1');
    const retry = events.find((e) => e.type === 'retry') as Extract<RegistryEvent, { type: 'retry' }>;
    expect(retry).toMatchObject({ delayMs: 1000, reason: 'HTTP 429', attempt: 1 });
    expect(events.some((e) => e.type === 'rate-limit' && e.host === proxy.host && e.requestsPerSecond === 50)).toBe(true);
    await c.close();
  });

  it('always 503: RegistryUnavailableError after exactly maxAttempts requests', async () => {
    proxy.rule = (r) => (r.path.includes('/manifests/') ? { status: 503 } : 'pass');
    const c = fresh(undefined, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    const start = proxy.requests.length;
    const err = await c.getManifest(repo(), 'v1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect(err).toMatchObject({ status: 503 });
    expect(since(start).filter((q) => q.path.includes('/manifests/'))).toHaveLength(3);
    await c.close();
  });

  it('always 429: RegistryRateLimitError; a Retry-After beyond maxRetryAfterMs is not waited for', async () => {
    proxy.rule = (r) => (r.path.includes('/manifests/') ? { status: 429, headers: { 'retry-after': '3600' } } : 'pass');
    const c = fresh();
    const start = proxy.requests.length;
    await expect(c.getManifest(repo(), 'v1')).rejects.toBeInstanceOf(RegistryRateLimitError);
    expect(since(start).filter((q) => q.path.includes('/manifests/'))).toHaveLength(1);
    await c.close();
  });

  it('abort during the backoff wait: AbortError, and no further request', async () => {
    proxy.rule = (r) => (r.path.includes('/manifests/') ? { status: 503, headers: { 'retry-after': '30' } } : 'pass');
    const ac = new AbortController();
    const c = fresh(undefined, { onEvent: (e) => e.type === 'retry' && ac.abort() });
    const start = proxy.requests.length;
    await expect(c.getManifest(repo(), 'v1', { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(since(start).filter((q) => q.path.includes('/manifests/'))).toHaveLength(1);
    await c.close();
  });

  it("putManifest checks the registry's Docker-Content-Digest and returns the digest of the bytes sent", async () => {
    proxy.rule = (r) => (r.method === 'PUT' && r.path.includes('/manifests/') ? { status: 201, headers: { 'docker-content-digest': digestOf('other') } } : 'pass');
    const c = fresh();
    await expect(c.putManifest(repo(), 'lie', img.manifest, MediaType.OciManifest)).rejects.toMatchObject({
      code: 'ERR_MOTE_DIGEST_MISMATCH',
      expected: img.manifestDigest,
      actual: digestOf('other'),
    });
    proxy.rule = (r) => (r.method === 'PUT' && r.path.includes('/manifests/') ? { status: 201, headers: { 'docker-content-digest': 'not-a-digest' } } : 'pass');
    await expect(c.putManifest(repo(), 'lie', img.manifest, MediaType.OciManifest)).rejects.toBeInstanceOf(RegistryProtocolError);
    proxy.rule = () => 'pass';
    expect(await c.putManifest(repo(), 'honest', img.manifest, MediaType.OciManifest)).toBe(img.manifestDigest);
    await c.close();
  });

  it('headManifest by digest compares only a Docker-Content-Digest of the same algorithm', async () => {
    const sha512 = digestOf(img.manifest, 'sha512');
    proxy.rule = (r) =>
      r.path.includes('/manifests/')
        ? { status: 200, headers: { 'docker-content-digest': img.manifestDigest, 'content-type': MediaType.OciManifest, 'content-length': String(img.manifest.length) } }
        : 'pass';
    const c = fresh();
    expect(await c.headManifest(repo(), sha512)).toEqual({ mediaType: MediaType.OciManifest, digest: sha512, size: img.manifest.length });
    await expect(c.headManifest(repo(), digestOf('x'))).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
    await c.close();
    proxy.rule = () => 'pass';
  });

  it('signed redirect URLs (another origin) never reach events or errors', async () => {
    const secret = 'SECRETSIG0123';
    const events: RegistryEvent[] = [];
    // Redirected to the real registry's own address: another origin than the proxy the client was pointed at.
    proxy.rule = (r) =>
      r.method === 'GET' && r.path.includes('/blobs/')
        ? { status: 307, headers: { location: `${reg.url}${r.path}?X-Amz-Signature=${secret}&X-Amz-Credential=AKIA${secret}` } }
        : 'pass';
    const c = fresh(events);
    expect((await readAll((await c.getBlob(repo(), img.layerDigest)).body)).equals(img.layer)).toBe(true);
    expect(events.some((e) => e.type === 'response' && e.url.startsWith(reg.url))).toBe(true);
    // A redirect target that refuses connections: retried, then an error whose message names the URL.
    proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { status: 307, headers: { location: `http://127.0.0.1:1/blob?X-Amz-Signature=${secret}` } } : 'pass');
    const err = await c.getBlob(repo(), img.layerDigest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryUnavailableError);
    expect((err as Error).message).toContain('127.0.0.1:1/blob');
    expect(events.some((e) => e.type === 'retry')).toBe(true);
    expect(`${(err as Error).message} ${JSON.stringify(err)} ${JSON.stringify(events)}`).not.toContain(secret);
    await c.close();
    proxy.rule = () => 'pass';
  });

  it('tags: a JSON body that is not an object, or one cut short, is RegistryProtocolError; an abort while reading is AbortError', async () => {
    const c = fresh();
    for (const body of ['null', '[]', '"x"']) {
      proxy.rule = (r) => (r.path.endsWith('/tags/list') ? { status: 200, headers: { 'content-type': 'application/json' }, body } : 'pass');
      await expect(c.tags(repo()), body).rejects.toBeInstanceOf(RegistryProtocolError);
    }
    proxy.rule = (r) => (r.path.endsWith('/tags/list') ? { dropAfterBytes: 3 } : 'pass');
    await expect(c.tags(repo())).rejects.toBeInstanceOf(RegistryProtocolError);
    proxy.rule = () => 'pass';
    const ac = new AbortController();
    const aborting = fresh(undefined, { onEvent: (e) => e.type === 'response' && e.url.includes('/tags/list') && ac.abort() });
    const err = await aborting.tags(repo(), { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ABORT_ERR' });
    expect((err as Error).constructor.name).toBe('AbortError');
    await aborting.close();
    await c.close();
  });

  it('ranges: a 200 to a ranged request is served by skipping; a 206 with the wrong Content-Range is refused', async () => {
    // ASCII content, so the proxy's string bodies carry it unchanged.
    const data = Buffer.from('0123456789abcdef'.repeat(100));
    const d = digestOf(data);
    const direct = client();
    await direct.pushBlob(`${reg.host}/${repoPath}`, d, data);
    await direct.close();
    const c = fresh();
    proxy.rule = (r) => (r.method === 'GET' && r.path.endsWith(d) ? { status: 200, body: data.toString('latin1') } : 'pass');
    const part = await c.getBlob(repo(), d, { offset: 100, length: 20 });
    expect(part).toMatchObject({ size: data.length, offset: 100, length: 20 });
    expect((await readAll(part.body)).equals(data.subarray(100, 120))).toBe(true);
    // A 200 shorter than the offset: the typed "past the end" error.
    await expect(c.getBlob(repo(), d, { offset: data.length + 5 })).rejects.toBeInstanceOf(RegistryRangeError);
    proxy.rule = (r) =>
      r.method === 'GET' && r.path.endsWith(d) ? { status: 206, headers: { 'content-range': `bytes 0-19/${data.length}` }, body: data.subarray(0, 20).toString('latin1') } : 'pass';
    await expect(c.getBlob(repo(), d, { offset: 100, length: 20 })).rejects.toMatchObject({ code: 'ERR_REGISTRY_PROTOCOL', message: expect.stringContaining('Content-Range') });
    proxy.rule = (r) =>
      r.method === 'GET' && r.path.endsWith(d) ? { status: 206, headers: { 'content-range': 'bytes 100-119/*' }, body: data.subarray(100, 120).toString('latin1') } : 'pass';
    await expect(c.getBlob(repo(), d, { offset: 100, length: 20 })).rejects.toBeInstanceOf(RegistryProtocolError);
    proxy.rule = () => 'pass';
    await c.close();
  });

  it('upload PATCH and PUT are not retried; an upload Location to plain HTTP elsewhere is refused', async () => {
    const c = fresh();
    const data = randomData(10_000);
    let start = proxy.requests.length;
    proxy.rule = (r) => (r.method === 'PATCH' ? { status: 503 } : 'pass');
    await expect(c.pushBlob(repo(), digestOf(data), data, { chunkSize: 4096 })).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(since(start).filter((q) => q.method === 'PATCH')).toHaveLength(1);
    start = proxy.requests.length;
    proxy.rule = (r) => (r.method === 'PUT' && r.path.includes('/blobs/uploads/') ? { status: 503 } : 'pass');
    await expect(c.pushBlob(repo(), digestOf(data), data)).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(since(start).filter((q) => q.method === 'PUT')).toHaveLength(1);
    proxy.rule = (r) =>
      r.method === 'POST' && r.path.includes('/blobs/uploads/') ? { status: 202, headers: { location: 'http://registry.example:5000/v2/x/blobs/uploads/abc' } } : 'pass';
    await expect(c.pushBlob(repo(), digestOf(data), data)).rejects.toBeInstanceOf(RegistryInsecureError);
    proxy.rule = () => 'pass';
    await c.close();
  });

  it('a non-idempotent upload request is not retried', async () => {
    proxy.rule = (r) => (r.method === 'POST' ? { status: 503 } : 'pass');
    const c = fresh();
    const data = randomData(1000);
    const start = proxy.requests.length;
    await expect(c.pushBlob(repo(), digestOf(data), data)).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(since(start).filter((q) => q.method === 'POST')).toHaveLength(1);
    await c.close();
    proxy.rule = () => 'pass';
  });
});

describe('the shared insecure-scheme probe and prompt aborts (hand-written silent server: a fault no registry produces)', () => {
  /**
   * Accepts connections and says nothing (a TLS handshake or a request then hangs) until `speak()`: then held
   * connections are dropped, TLS is refused, and plain HTTP gets a minimal `/v2/` answer.
   */
  async function silentServer() {
    const held = new Set<net.Socket>();
    let speaking = false;
    const connected: Array<() => void> = [];
    const server = net.createServer((sock) => {
      sock.on('error', () => {});
      if (!speaking) {
        held.add(sock);
        connected.splice(0).forEach((f) => f());
        return;
      }
      sock.once('data', (d: Buffer) => {
        if (d[0] === 0x16) return sock.destroy(); // a TLS ClientHello: this server speaks no TLS
        sock.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndocker-distribution-api-version: registry/2.0\r\nconnection: close\r\n\r\n{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return {
      host,
      nextConnection: () => new Promise<void>((r) => connected.push(r)),
      speak: () => {
        speaking = true;
        for (const s of held) s.destroy();
      },
      stop: async () => {
        for (const s of held) s.destroy();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  it("one caller's abort fails only that caller; the others get the probe's answer", async () => {
    const srv = await silentServer();
    const c = client({ insecure: [srv.host] });
    try {
      const ac = new AbortController();
      const conn = srv.nextConnection();
      const a = c.ping(srv.host, { signal: ac.signal });
      let bSettled = false;
      const b = c.ping(srv.host).finally(() => (bSettled = true));
      await conn; // the probe's TLS handshake is under way (and hangs)
      ac.abort();
      await expect(a).rejects.toMatchObject({ code: 'ABORT_ERR' });
      await new Promise((r) => setImmediate(r));
      expect(bSettled).toBe(false);
      srv.speak(); // TLS fails now: the probe settles on plain HTTP, which answers
      expect(await b).toEqual({ apiVersion: 'registry/2.0' });
      expect(c.urlFor(srv.host, '/v2/')).toBe(`http://${srv.host}/v2/`);
    } finally {
      await c.close();
      await srv.stop();
    }
  });

  it('an abort during a TLS handshake that hangs is prompt (not after the connect timeout)', async () => {
    const srv = await silentServer();
    // A redirect (answered by the proxy itself; its target is never contacted) to HTTPS on the silent server.
    const proxy = await FaultInjectingProxy.start('127.0.0.1:1', (r) => ({ status: 307, headers: { location: `https://${srv.host}${r.url}` } }));
    const c = client({ timeoutMs: 600_000 });
    try {
      const ac = new AbortController();
      const conn = srv.nextConnection();
      const p = c.getBlob(`${proxy.host}/x/y`, digestOf('z'), { signal: ac.signal });
      await conn;
      ac.abort();
      // Were the abort not prompt, this would wait for the 600 s connect timeout and the test would time out.
      await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
    } finally {
      // The silent server first: undici's graceful close waits for the handshake it is still attempting.
      await srv.stop();
      await proxy.stop();
      await c.close();
    }
  }, 20_000);
});
