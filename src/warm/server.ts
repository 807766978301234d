/**
 * The warmer's HTTP endpoint (`mote warm --listen ADDR`): `GET /healthz`, `GET /metrics` (Prometheus text), and
 * `POST /notify` (a registry's notification or a Docker Hub webhook: the repositories it names jump the queue).
 * Bodies are bounded and read with a deadline; garbage is a 400, never a crash.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import { MAX_NOTIFY_BYTES, repositoriesFromWebhook } from './webhook.js';

export interface WarmServerOptions {
  /** `host:port` (`:port` or a bare port listen on 127.0.0.1). */
  listen: string;
  notify: (repository: string) => void;
  metrics?: () => Promise<{ contentType: string; body: string }>;
  health?: () => { ok: boolean; detail: Record<string, unknown> };
}

const BODY_TIMEOUT_MS = 10_000;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`--listen ${JSON.stringify(listen)}: give HOST:PORT or PORT`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : '127.0.0.1', port };
}

/** Starts the server; resolves once it listens, with its address and a `close()` that ends open connections. */
export async function startWarmServer(o: WarmServerOptions): Promise<{ address: string; close: () => Promise<void> }> {
  const { host, port } = parseListen(o.listen);
  const server = http.createServer((req, res) => {
    handle(o, req, res).catch((err: unknown) => reply(res, 500, { error: String(err) }));
  });
  server.requestTimeout = BODY_TIMEOUT_MS;
  server.headersTimeout = BODY_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(o: WarmServerOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://warmer');
  if (url.pathname === '/healthz' && req.method === 'GET') {
    const h = o.health?.() ?? { ok: true, detail: {} };
    return reply(res, h.ok ? 200 : 503, { status: h.ok ? 'ok' : 'unhealthy', ...h.detail });
  }
  if (url.pathname === '/metrics' && req.method === 'GET') {
    if (!o.metrics) return reply(res, 404, { error: 'no metrics' });
    const m = await o.metrics();
    res.writeHead(200, { 'content-type': m.contentType });
    return void res.end(m.body);
  }
  if (url.pathname === '/notify' && req.method === 'POST') {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_NOTIFY_BYTES) return tooLarge(res);
    let body: string;
    try {
      body = await readBody(req);
    } catch {
      return tooLarge(res);
    }
    let repositories: string[];
    try {
      repositories = repositoriesFromWebhook(body);
    } catch (err) {
      return reply(res, 400, { error: (err as Error).message });
    }
    for (const r of repositories) {
      try {
        o.notify(r);
      } catch {
        /* one name the warmer refuses does not drop the others */
      }
    }
    return reply(res, 202, { notified: repositories });
  }
  const allowed = ROUTES[url.pathname];
  if (allowed) {
    res.setHeader('allow', allowed);
    return reply(res, 405, { error: `${url.pathname} takes ${allowed}` });
  }
  return reply(res, 404, { error: 'not found: GET /healthz, GET /metrics, POST /notify' });
}

const ROUTES: Record<string, string> = { '/healthz': 'GET', '/metrics': 'GET', '/notify': 'POST' };

/** 413, then the connection closed once the answer is out (the rest of the body is not read). */
function tooLarge(res: http.ServerResponse): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(`${JSON.stringify({ error: `notification larger than ${MAX_NOTIFY_BYTES} bytes` })}\n`, () => res.socket?.destroy());
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer): void => {
      n += c.byteLength;
      if (n > MAX_NOTIFY_BYTES) {
        req.off('data', onData);
        req.pause(); // the answer (413) goes out first; the socket is closed after it
        reject(new Error('too large'));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function reply(res: http.ServerResponse, status: number, doc: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(doc)}\n`);
}
