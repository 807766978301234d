/**
 * Review probes: the warmer's HTTP endpoint (`startWarmServer`: /healthz, /metrics, POST /notify) under hostile
 * webhook traffic (sizes, nesting, names, slow bodies, wrong methods, many connections), and what a flood of
 * notifications makes the warmer do to a real registry.
 *
 * The failing tests here are findings; the ones that pass are what held up.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startWarmServer } from '../../src/warm/server.js';
import { Warmer } from '../../src/warm/warmer.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { sleep } from '../helpers/hostile-images.js';

const OURS = 'registry.example.com/team/app';

async function server(notify: (r: string) => void = () => {}) {
  const client = new RegistryClient({ credentials: false });
  const warmer = new Warmer({ client, store: new KvImageMetadataStore(new MemoryKeyValueStore()), repositories: [OURS] });
  const seen: string[] = [];
  const s = await startWarmServer({
    listen: '127.0.0.1:0',
    notify: (r) => {
      notify(r);
      warmer.notify(r);
      seen.push(r);
    },
    health: () => ({ ok: true, detail: {} }),
  });
  return {
    address: s.address,
    close: async () => {
      await s.close();
      await client.close();
    },
    base: `http://${s.address}`,
    seen,
  };
}

/** One raw request; resolves with the status, or with the socket error's code when there was no response. */
function send(address: string, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<number | string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const req = http.request({ host, port, method, path, headers: { ...(body && { 'content-length': String(body.length) }), ...headers }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', () => resolve(res.statusCode!));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    if (body) req.end(body);
    else req.end();
  });
}

describe('POST /notify: hostile bodies', () => {
  it('wrong methods on /notify are 405 with Allow: POST (not 404, which says the endpoint does not exist)', async () => {
    const s = await server();
    try {
      const got = { GET: await send(s.address, 'GET', '/notify'), PUT: await send(s.address, 'PUT', '/notify', Buffer.from('{}')), DELETE: await send(s.address, 'DELETE', '/notify') };
      expect(got).toEqual({ GET: 405, PUT: 405, DELETE: 405 });
    } finally {
      await s.close();
    }
  });

  it('a body over 1 MiB is answered 413 (the sender learns why), not a reset connection', async () => {
    const s = await server();
    try {
      expect(await send(s.address, 'POST', '/notify', Buffer.alloc(2 << 20, 0x20))).toBe(413);
    } finally {
      await s.close();
    }
  });

  it('an event naming a repository longer than 255 characters is skipped; the others in the same envelope are still notified (no 500)', async () => {
    const s = await server();
    try {
      const long = Array.from({ length: 10 }, () => 'a'.repeat(30)).join('/'); // valid components, 309 characters
      const envelope = {
        events: [
          { action: 'push', target: { repository: long }, request: { host: 'registry.example.com' } },
          { action: 'push', target: { repository: 'team/app' }, request: { host: 'registry.example.com' } },
        ],
      };
      const status = await send(s.address, 'POST', '/notify', Buffer.from(JSON.stringify(envelope)));
      expect({ status, notified: s.seen.includes(OURS) }).toEqual({ status: 202, notified: true });
    } finally {
      await s.close();
    }
  });

  it('held: nesting 1 MiB deep, not JSON, arrays, 10,000 events, a Docker Hub webhook for another repository', async () => {
    const s = await server();
    try {
      expect(await send(s.address, 'POST', '/notify', Buffer.from('['.repeat((1 << 20) - 1)))).toBe(400);
      expect(await send(s.address, 'POST', '/notify', Buffer.from('{"events":' + '['.repeat(500_000) + ']'.repeat(500_000) + '}'))).toBe(400);
      expect(await send(s.address, 'POST', '/notify', Buffer.from('\u0000\uffff'))).toBe(400);
      const many = { events: Array.from({ length: 10_000 }, (_, i) => ({ action: 'push', target: { repository: `team/r${i}` }, request: { host: 'registry.example.com' } })) };
      expect(await send(s.address, 'POST', '/notify', Buffer.from(JSON.stringify(many)))).toBe(202);
      expect(s.seen.length).toBe(1000); // MAX_EVENTS
      expect(await send(s.address, 'POST', '/notify', Buffer.from(JSON.stringify({ repository: { repo_name: '__proto__' } })))).toBe(400);
      expect(await send(s.address, 'POST', '/notify', Buffer.from(JSON.stringify({ repository: { repo_name: 'someone/else' }, push_data: { tag: 'x' } })))).toBe(202);
      expect(await send(s.address, 'GET', '/healthz')).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('held: a body trickled one byte every 500 ms is cut (requestTimeout, checked every 30 s): within 45 s', async () => {
    const s = await server();
    const [host, port] = [s.address.slice(0, s.address.lastIndexOf(':')), Number(s.address.slice(s.address.lastIndexOf(':') + 1))];
    try {
      const started = Date.now();
      const sock = net.connect(port, host);
      sock.write('POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      const timer = setInterval(() => sock.writable && sock.write('{'), 500);
      let reply = '';
      sock.on('data', (d) => (reply += String(d)));
      await new Promise<void>((resolve) => {
        sock.on('close', () => resolve());
        sock.on('error', () => resolve());
      });
      clearInterval(timer);
      expect(Date.now() - started).toBeLessThan(45_000);
      expect(reply === '' || /^HTTP\/1\.1 408/.test(reply), reply.slice(0, 80)).toBe(true);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('held: 500 connections holding half-sent requests do not stop /healthz from answering', async () => {
    const s = await server();
    const [host, port] = [s.address.slice(0, s.address.lastIndexOf(':')), Number(s.address.slice(s.address.lastIndexOf(':') + 1))];
    const socks: net.Socket[] = [];
    try {
      for (let i = 0; i < 500; i++) {
        const sock = net.connect(port, host);
        sock.on('error', () => {});
        sock.write(i % 2 ? 'POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"ev' : 'POST /notify HTTP/1.1\r\nHo');
        socks.push(sock);
      }
      await sleep(200);
      const t = Date.now();
      const res = await fetch(`${s.base}/healthz`, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(200);
      expect(Date.now() - t).toBeLessThan(2000);
    } finally {
      for (const sock of socks) sock.destroy();
      await s.close();
    }
  });
});

const reason = registryUnavailableReason();
describe.skipIf(reason)('a flood of notifications (real registry)', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry();
    const c = new RegistryClient({ credentials: false });
    await pushTaggedImages(c, { registry: registry.host, repository: 'team/flood' }, [{ tags: ['1'] }]);
    await c.close();
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('100 POST /notify in 2 s (unauthenticated) do not turn into ~100 refreshes of the repository: notifications are coalesced', async () => {
    const name = `${registry.host}/team/flood`;
    const client = new RegistryClient({ credentials: false });
    const warmer = new Warmer({ client, store: new KvImageMetadataStore(new MemoryKeyValueStore()), repositories: [name], pollIntervalMs: 3_600_000 });
    const controller = new AbortController();
    const running = warmer.run(controller.signal);
    const s = await startWarmServer({ listen: '127.0.0.1:0', notify: (r) => warmer.notify(r) });
    try {
      await sleep(300); // the first cycle
      const before = (await registry.requests()).length;
      const envelope = Buffer.from(JSON.stringify({ events: [{ action: 'push', target: { repository: 'team/flood' }, request: { host: registry.host } }] }));
      for (let i = 0; i < 100; i++) {
        void send(s.address, 'POST', '/notify', envelope);
        await sleep(20);
      }
      await sleep(300);
      const lists = (await registry.requests()).slice(before).filter((r) => r.path === '/v2/team/flood/tags/list').length;
      expect(lists, 'tag lists caused by 100 notifications in 2 s').toBeLessThanOrEqual(5);
    } finally {
      controller.abort();
      await running.catch(() => undefined);
      await s.close();
      await client.close();
    }
  }, 30_000);
});
