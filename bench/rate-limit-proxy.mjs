// A rate-limiting stand-in for a real registry's request limit (Docker Hub, GHCR, ECR and Quay all rate-limit):
// a token-bucket HTTP proxy in front of the local docker-registry, in the spirit of test/helpers/fault-proxy.ts
// (that one injects faults on demand; this one injects the one fault a limited registry produces under load).
//
// - `rate` tokens per second, at most `burst` saved up (the bucket starts full). Each request takes a token; a
//   request that finds the bucket empty is answered here with `429 Too Many Requests` and `Retry-After` (whole
//   seconds until a token is back, at least 1), never reaching the registry.
// - Requests are counted by kind (tag-list page, manifest HEAD, manifest GET, blob GET, ping, other), for those
//   forwarded and those refused, with the TCP connections clients opened; `GET /_bench/stats` returns the counts,
//   `POST /_bench/reset` returns them and zeroes them (the bucket is left alone: a real registry does not refill
//   because a benchmark starts a new phase). Neither is counted or limited.
// - It runs as a child process (`startRateLimitProxy`), so the process being measured does not share its event
//   loop (it reports its own longest stall: requests arriving during one are seen together).
//
// Run directly: `node bench/rate-limit-proxy.mjs <target host:port> <rate> <burst>`; prints `{"port":N}`.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** The kind of an OCI distribution request, by method and path. */
export function requestKind(method, path) {
  if (path === '/v2/' || path === '/v2') return 'ping';
  if (/^\/v2\/.+\/tags\/list$/.test(path)) return method === 'GET' ? 'tags' : 'other';
  if (/^\/v2\/.+\/manifests\/[^/]+$/.test(path)) return method === 'HEAD' ? 'headManifest' : method === 'GET' ? 'getManifest' : 'other';
  if (/^\/v2\/.+\/blobs\/[^/]+$/.test(path)) return method === 'GET' ? 'getBlob' : method === 'HEAD' ? 'headBlob' : 'other';
  return 'other';
}

function serve(target, rate, burst) {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let tokens = burst;
  let last = performance.now();
  const fresh = () => ({ forwarded: {}, limited: {}, total: 0, limitedTotal: 0, statuses: {}, errors: 0, connections: 0, first: undefined, last: undefined });
  let stats = fresh();
  // Its own event-loop delay: a stall here bunches the requests that arrive meanwhile (the bucket caps at `burst`).
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const take = () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - last) * rate) / 1000);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - tokens) / rate));
  };
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path.startsWith('/_bench/')) {
      const body = JSON.stringify({ ...stats, tokens, rate, burst, eventLoopDelayMaxMs: eld.max / 1e6 });
      if (path === '/_bench/reset' && req.method === 'POST') {
        stats = fresh();
        eld.reset();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      req.resume();
      return;
    }
    const kind = requestKind(req.method, path);
    const at = Date.now();
    stats.first ??= at;
    stats.last = at;
    stats.total++;
    const retryAfter = take();
    if (retryAfter > 0) {
      stats.limitedTotal++;
      stats.limited[kind] = (stats.limited[kind] ?? 0) + 1;
      req.resume();
      const body = JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: `rate limited: ${rate} requests per second`, detail: null }] });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter), 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    stats.forwarded[kind] = (stats.forwarded[kind] ?? 0) + 1;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    const up = http.request({ host: targetHost, port: targetPort, method: req.method, path: req.url, headers, agent }, (upRes) => {
      stats.statuses[upRes.statusCode] = (stats.statuses[upRes.statusCode] ?? 0) + 1;
      const out = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    up.once('error', () => {
      stats.errors++;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(up);
  });
  server.on('connection', () => stats.connections++);
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * Starts the proxy as a child process in front of `target` (`host:port`). Returns `{ host, stats(), reset(), stop() }`;
 * `stats()` (and `reset()`, which then zeroes them) resolves to `{ forwarded: {kind: n}, limited: {kind: n}, total, limitedTotal, statuses, errors, connections, first, last }`
 * (`connections`: TCP connections the clients opened), and `eventLoopDelayMaxMs`, the proxy's longest event-loop stall.
 */
export async function startRateLimitProxy(target, { rate, burst }) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), target, String(rate), String(burst)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const port = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line).port));
    child.once('exit', (code) => reject(new Error(`rate-limit proxy exited (${code}) before listening`)));
  });
  const host = `127.0.0.1:${port}`;
  const control = async (what, method) => (await fetch(`http://${host}/_bench/${what}`, { method })).json();
  return {
    host,
    stats: () => control('stats', 'GET'),
    reset: () => control('reset', 'POST'),
    stop: async () => {
      if (!exited) {
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => !exited && process.kill(child.pid, 'SIGKILL'), 2000);
        await exit;
        clearTimeout(t);
      }
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [target, rate, burst] = process.argv.slice(2);
  serve(target, Number(rate), Number(burst));
}
