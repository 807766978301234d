/**
 * Faults a real registry cannot be made to show, from a hand-written FAKE upstream (`fakeUpstream` below, not a
 * registry: it answers /v2/, a blob's HEAD and GET, nothing else): a blob whose bytes do not match its digest, a
 * body that stops halfway, and a body held back until the test lets it go (to see clients stream a growing
 * download). Plus slow and vanishing clients: no leaked descriptors, no partial files.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../../src/serve/index.js';
import { FileMoteCache } from '../../src/store/index.js';
import { makeTempDir } from '../helpers/tmp.js';

type Mode = 'lie' | 'vanish' | 'gated' | 'honest';
interface Fake {
  url: string;
  gets: Map<string, number>;
  open: (digest: string) => void;
  close: () => Promise<void>;
}

/** FAKE upstream: each blob is `size` bytes of `content`, served as `mode` says. */
async function fakeUpstream(blobs: Map<string, { content: Buffer; mode: Mode }>): Promise<Fake> {
  const gets = new Map<string, number>();
  const gates = new Map<string, () => void>();
  const gated = new Map<string, Promise<void>>();
  for (const [d, b] of blobs) if (b.mode === 'gated') gated.set(d, new Promise((r) => gates.set(d, r)));
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/[^?]+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '');
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const blob = m ? blobs.get(m[1]!) : undefined;
    if (!m || !blob) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"no"}]}');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.content.length });
    if (req.method === 'HEAD') return void res.end();
    gets.set(m[1]!, (gets.get(m[1]!) ?? 0) + 1);
    const half = blob.content.length >> 1;
    if (blob.mode === 'lie') {
      const wrong = Buffer.from(blob.content);
      wrong[wrong.length - 10]! ^= 0xff; // the length is right, one byte near the end is not
      res.write(wrong.subarray(0, half));
      setTimeout(() => res.end(wrong.subarray(half)), 100);
    } else if (blob.mode === 'vanish') {
      res.write(blob.content.subarray(0, half), () => setTimeout(() => res.destroy(), 50));
    } else if (blob.mode === 'honest') {
      res.end(blob.content);
    } else {
      res.write(blob.content.subarray(0, half));
      void gated.get(m[1]!)!.then(() => res.end(blob.content.subarray(half)));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets,
    open: (d) => gates.get(d)?.(),
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const digestOf = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** GET through the mirror: the bytes received, and whether the body failed (or ended short). */
async function pull(url: string, onFirst?: () => void): Promise<{ bytes: number; failed: boolean }> {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      const want = Number(res.headers['content-length']);
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        if (bytes === 0) onFirst?.();
        bytes += d.length;
      });
      res.on('end', () => resolve({ bytes, failed: bytes !== want || res.statusCode !== 200 }));
      res.on('error', () => resolve({ bytes, failed: true }));
      res.on('aborted', () => resolve({ bytes, failed: true }));
    }).on('error', () => resolve({ bytes: 0, failed: true }));
  });
}

describe('mote serve against a lying or broken upstream (FAKE upstream)', () => {
  const lie = crypto.randomBytes(3 << 20);
  const vanish = crypto.randomBytes(2 << 20);
  const slow = crypto.randomBytes(4 << 20);
  const fresh = crypto.randomBytes(8 << 20);
  const stuck = crypto.randomBytes(2 << 20);
  let fake: Fake;
  let tmp: { dir: string; cleanup: () => void };
  let store: FileMoteCache;
  let mirror: MirrorServer;
  const blobFile = (d: string): string => path.join(tmp.dir, 'cache', 'blobs', 'sha256', d.slice(7));
  const partials = (): string[] => fs.readdirSync(path.join(tmp.dir, 'cache', '.mote', 'partial'));

  beforeAll(async () => {
    tmp = makeTempDir('mote-serve-fake-');
    fake = await fakeUpstream(
      new Map([
        [digestOf(lie), { content: lie, mode: 'lie' as Mode }],
        [digestOf(vanish), { content: vanish, mode: 'vanish' as Mode }],
        [digestOf(slow), { content: slow, mode: 'gated' as Mode }],
        [digestOf(fresh), { content: fresh, mode: 'honest' as Mode }],
        [digestOf(stuck), { content: stuck, mode: 'gated' as Mode }],
      ]),
    );
    store = new FileMoteCache(path.join(tmp.dir, 'cache'));
    await store.initialize();
    mirror = await startMirrorServer({ listen: '127.0.0.1:0', store, upstreams: [{ url: fake.url }] });
  });
  afterAll(async () => {
    await mirror?.close(1000);
    await store?.close();
    await fake?.close();
    tmp?.cleanup();
  });

  it('a lying upstream reaches no client as a complete response, and nothing is published', async () => {
    const d = digestOf(lie);
    const results = await Promise.all(Array.from({ length: 8 }, () => pull(`${mirror.url}/v2/x/y/blobs/${d}`)));
    for (const r of results) {
      expect(r.failed).toBe(true);
      expect(r.bytes).toBeLessThan(lie.length);
    }
    expect(fs.existsSync(blobFile(d))).toBe(false);
    expect(partials()).toEqual([]);
  }, 60_000);

  it('an upstream that vanishes mid-body: every client fails short, nothing is published', async () => {
    const d = digestOf(vanish);
    const results = await Promise.all(Array.from({ length: 4 }, () => pull(`${mirror.url}/v2/x/y/blobs/${d}`)));
    for (const r of results) expect(r.failed).toBe(true);
    expect(fs.existsSync(blobFile(d))).toBe(false);
    // Its partial may stay, kept for a resume (unpublished; prune and verify sweep those no download holds).
    await store.prune(Number.MAX_SAFE_INTEGER);
  }, 60_000);

  it('every concurrent client streams the growing download before the upstream has sent it all; one upstream GET', async () => {
    const d = digestOf(slow);
    let firsts = 0;
    let allStarted!: () => void;
    const started = new Promise<void>((r) => (allStarted = r));
    const clients = Array.from({ length: 6 }, () => pull(`${mirror.url}/v2/x/y/blobs/${d}`, () => ++firsts === 6 && allStarted()));
    // The upstream holds back its second half until every client has received bytes: without streaming, this waits forever.
    await started;
    fake.open(d);
    for (const r of await Promise.all(clients)) expect(r).toEqual({ bytes: slow.length, failed: false });
    expect(fake.gets.get(d)).toBe(1);
    expect(fs.readFileSync(blobFile(d)).equals(slow)).toBe(true);
  }, 60_000);

  it('1,000 requests from slow or vanishing clients leave no leaked descriptors and no partial files', async () => {
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const d = digestOf(slow); // cached by now; `fresh` is not (its download starts with the first round)
    const before = fds();
    const port = Number(mirror.address.split(':')[1]);
    for (let round = 0; round < 20; round++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          new Promise<void>((resolve) => {
            const req = http.get({ host: '127.0.0.1', port, path: `/v2/x/y/blobs/${i % 2 ? d : digestOf(fresh)}`, agent: false }, (res) => {
              res.once('data', () => req.destroy()); // vanishes after the first chunk
              res.once('end', resolve);
              res.once('close', resolve);
            });
            req.on('error', () => resolve());
            req.on('close', () => resolve());
          }),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(mirror.mirror.active()).toBe(0);
    expect(fds()).toBeLessThanOrEqual(before + 5);
    expect(partials()).toEqual([]);
    expect(fs.readFileSync(blobFile(digestOf(fresh))).equals(fresh)).toBe(true);
    expect(fake.gets.get(digestOf(fresh))).toBe(1);
  }, 120_000);

  it('close() with a response in flight: stops accepting, cuts what is left at the deadline, resolves', async () => {
    const d = digestOf(stuck); // its upstream never sends the second half
    let started!: () => void;
    const first = new Promise<void>((r) => (started = r));
    const client = pull(`${mirror.url}/v2/x/y/blobs/${d}`, () => started());
    await first;
    const t0 = Date.now();
    await mirror.close(300);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await client).toEqual({ bytes: expect.any(Number), failed: true });
    await expect(fetch(`${mirror.url}/v2/`)).rejects.toThrow();
    fake.open(d);
  }, 30_000);
});
