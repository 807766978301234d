/**
 * `mote serve` as a mirror, against a real upstream (docker-registry) and a real client (skopeo): byte-identical
 * pulls, one upstream download per blob for 16 concurrent clients, stale-if-error with the upstream stopped,
 * spec errors for malformed input, Basic auth both ways. The lying upstream is in lying-upstream.test.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../../src/serve/index.js';
import { FileMoteCache } from '../../src/store/index.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const sha = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const OCI_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json';

describe.skipIf(reason !== undefined)('mote serve: a pull-through mirror of docker-registry', () => {
  let upstream: RegistryHandle;
  let tmp: { dir: string; cleanup: () => void };
  let image: BuiltImage;
  let store: FileMoteCache;
  let mirror: MirrorServer;
  const access: Record<string, unknown>[] = [];

  beforeAll(async () => {
    tmp = makeTempDir('mote-serve-');
    upstream = await startRegistry();
    image = await makeImage(path.join(tmp.dir, 'layout'), { tag: 'v1', layers: [{ size: 3 << 20 }, { size: 1 << 20 }, { size: 200_000 }] });
    await pushLayout(path.join(tmp.dir, 'layout'), 'v1', upstream, 'team/app:v1');
    await pushLayout(path.join(tmp.dir, 'layout'), 'v1', upstream, 'team/app:v2');
    store = new FileMoteCache(path.join(tmp.dir, 'cache'));
    await store.initialize();
    mirror = await startMirrorServer({ listen: '127.0.0.1:0', store, upstreams: [{ url: upstream.url }], tagMaxAgeMs: 0, onAccess: (e) => access.push(e) });
  }, 120_000);

  afterAll(async () => {
    await mirror?.close(1000);
    await store?.close();
    await upstream?.stop();
    tmp?.cleanup();
  });

  it('16 concurrent clients of an uncached image: each blob is downloaded upstream once, every body verified', async () => {
    const layers = image.manifests[0]!.layers;
    const bodies = await Promise.all(
      Array.from({ length: 16 }, () =>
        Promise.all(
          layers.map(async (l) => {
            const r = await fetch(`${mirror.url}/v2/team/app/blobs/${l.digest}`);
            expect(r.status).toBe(200);
            expect(r.headers.get('docker-content-digest')).toBe(l.digest);
            return sha(Buffer.from(await r.arrayBuffer()));
          }),
        ),
      ),
    );
    for (const b of bodies) expect(b).toEqual(layers.map((l) => l.digest));
    for (const l of layers) expect(await upstream.blobGets(l.digest)).toBe(1);
    const metrics = await (await fetch(`${mirror.url}/metrics`)).text();
    expect(metrics).toMatch(/mote_serve_coalesced_requests_total [1-9]/);
    expect(fs.readdirSync(path.join(tmp.dir, 'cache', '.mote', 'partial'))).toEqual([]);
  }, 120_000);

  it('skopeo copies the image through the mirror byte-identical to upstream; inspect and list-tags work', async () => {
    const dest = path.join(tmp.dir, 'pulled');
    await skopeo(['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${mirror.address}/team/app:v1`, `oci:${dest}:v1`]);
    for (const b of image.blobs) {
      const file = path.join(dest, 'blobs', 'sha256', b.digest.slice(7));
      expect(sha(fs.readFileSync(file)), b.digest).toBe(b.digest);
    }
    const inspect = JSON.parse((await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${mirror.address}/team/app:v1`])).stdout) as { layers: { digest: string }[] };
    expect(inspect.layers.map((l) => l.digest)).toEqual(image.manifests[0]!.layers.map((l) => l.digest));
    const tags = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `docker://${mirror.address}/team/app`])).stdout) as { Tags: string[] };
    expect(tags.Tags.sort()).toEqual(['v1', 'v2']);
  }, 120_000);

  it('manifests: headers, content negotiation, HEAD, If-None-Match and Range on blobs', async () => {
    const r = await fetch(`${mirror.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_ACCEPT } });
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(r.status).toBe(200);
    expect(r.headers.get('docker-content-digest')).toBe(image.digest);
    expect(r.headers.get('content-type')).toBe(image.mediaType);
    expect(r.headers.get('etag')).toBe(`"${image.digest}"`);
    expect(sha(bytes)).toBe(image.digest);
    const h = await fetch(`${mirror.url}/v2/team/app/manifests/${image.digest}`, { method: 'HEAD', headers: { accept: OCI_ACCEPT } });
    expect([h.status, h.headers.get('content-length')]).toEqual([200, String(bytes.length)]);
    const wrongType = await fetch(`${mirror.url}/v2/team/app/manifests/v1`, { headers: { accept: 'text/html' } });
    expect(wrongType.status).toBe(404);
    expect(((await wrongType.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');
    const layer = image.manifests[0]!.layers[0]!;
    const part = await fetch(`${mirror.url}/v2/team/app/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } });
    expect([part.status, part.headers.get('content-range'), (await part.arrayBuffer()).byteLength]).toEqual([206, `bytes 10-19/${layer.size}`, 10]);
    const nm = await fetch(`${mirror.url}/v2/team/app/blobs/${layer.digest}`, { headers: { 'if-none-match': `"${layer.digest}"` } });
    expect(nm.status).toBe(304);
  });

  it('malformed paths, names, digests, ranges and methods get spec errors', async () => {
    const layer = image.manifests[0]!.layers[0]!.digest;
    const cases: [string, RequestInit, number, string][] = [
      ['/v2/Team/App/manifests/v1', {}, 400, 'NAME_INVALID'],
      ['/v2/team/app/blobs/sha256:xyz', {}, 400, 'DIGEST_INVALID'],
      ['/v2/team/app/blobs/md5:' + 'a'.repeat(32), {}, 400, 'DIGEST_INVALID'],
      ['/v2/team/app/manifests/-bad-tag', {}, 400, 'TAG_INVALID'],
      ['/v2/team/app/blobs/' + layer, { headers: { range: 'bytes=999999999999-' } }, 416, 'RANGE_INVALID'],
      ['/v2/team/app/blobs/' + layer, { headers: { range: 'bytes=0-1,5-6' } }, 416, 'RANGE_INVALID'],
      ['/v2/team/app/blobs/' + layer, { headers: { range: 'x'.repeat(5000) } }, 416, 'RANGE_INVALID'],
      ['/v2/team/app/blobs/uploads/', { method: 'POST' }, 405, 'UNSUPPORTED'],
      ['/v2/team/app/manifests/v1', { method: 'PUT', body: '{}' }, 405, 'UNSUPPORTED'],
      ['/v2/team/app/manifests/v1', { method: 'DELETE' }, 405, 'UNSUPPORTED'],
      ['/v2/team/app/tags/list?n=abc', {}, 400, 'PAGINATION_NUMBER_INVALID'],
      ['/v2/team/app/blobs/sha256:' + '0'.repeat(64), {}, 404, 'BLOB_UNKNOWN'],
      ['/v2/team/none/manifests/v1', { headers: { accept: OCI_ACCEPT } }, 404, 'MANIFEST_UNKNOWN'],
      ['/nothing', {}, 404, 'NOT_FOUND'],
    ];
    // Sent as written (fetch would resolve the dot segments before sending).
    for (const p of ['/v2/../etc/blobs/' + layer, '/v2/team/../../x/manifests/v1', '/v2/./a/manifests/v1', '/v2/team/%2e%2e/blobs/' + layer, '/v2/team%2Fx/manifests/v1']) {
      const got = await new Promise<[number, string]>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: Number(mirror.address.split(':')[1]), path: p }, (res) => {
          let b = '';
          res.on('data', (d) => (b += String(d)));
          res.on('end', () => resolve([res.statusCode!, (JSON.parse(b) as { errors: { code: string }[] }).errors[0]!.code]));
        }).on('error', reject);
      });
      expect([p, ...got]).toEqual([p, 400, 'NAME_INVALID']);
    }
    for (const [p, init, status, code] of cases) {
      const r = await fetch(mirror.url + p, init);
      const body = (await r.json()) as { errors: { code: string; message: string }[] };
      expect([p, r.status, body.errors[0]!.code]).toEqual([p, status, code]);
    }
  });

  it('tags/list paginates with n and last, with a Link header', async () => {
    const r = await fetch(`${mirror.url}/v2/team/app/tags/list?n=1`);
    expect(await r.json()).toEqual({ name: 'team/app', tags: ['v1'] });
    expect(r.headers.get('link')).toBe('</v2/team/app/tags/list?n=1&last=v1>; rel="next"');
    const next = await fetch(`${mirror.url}/v2/team/app/tags/list?n=1&last=v1`);
    expect(await next.json()).toEqual({ name: 'team/app', tags: ['v2'] });
  });

  it('logs one JSON access line per request and counts requests in /metrics', async () => {
    expect(access.length).toBeGreaterThan(10);
    expect(access.every((e) => typeof e.status === 'number' && typeof e.route === 'string')).toBe(true);
    const m = await (await fetch(`${mirror.url}/metrics`)).text();
    expect(m).toMatch(/mote_serve_request_duration_seconds_count\{route="blob",method="GET",status="200"\} \d+/);
    expect(m).toMatch(/mote_serve_bytes_total\{from="cache"\} \d+/);
  });

  it('upstream stopped: cached tags (stale, marked) and blobs are served; uncached ones are a clean 5xx', async () => {
    await upstream.stop();
    const r = await fetch(`${mirror.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_ACCEPT } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-mote-stale')).toBe('1');
    expect(sha(Buffer.from(await r.arrayBuffer()))).toBe(image.digest);
    const dest = path.join(tmp.dir, 'offline');
    await skopeo(['--insecure-policy', 'copy', '--src-tls-verify=false', `docker://${mirror.address}/team/app:v1`, `oci:${dest}:v1`]);
    const tags = await fetch(`${mirror.url}/v2/team/app/tags/list`);
    expect([tags.status, tags.headers.get('x-mote-stale')]).toEqual([200, '1']);
    const miss = await fetch(`${mirror.url}/v2/team/other/manifests/v9`, { headers: { accept: OCI_ACCEPT } });
    expect(miss.status).toBe(503);
    expect(((await miss.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UPSTREAM_UNAVAILABLE');
    const blobMiss = await fetch(`${mirror.url}/v2/team/app/blobs/sha256:${'1'.repeat(64)}`);
    expect(blobMiss.status).toBe(503);
  }, 120_000);
});
