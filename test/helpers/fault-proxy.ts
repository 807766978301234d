/**
 * FaultInjectingProxy: a hand-written HTTP reverse proxy in front of a REAL registry, for the faults a real
 * registry cannot be made to produce on demand: 429/503 answers, connections dropped mid-blob, slow responses,
 * bodies trickled a few bytes at a time.
 * Everything else passes through untouched (method, path+query, headers, bodies streamed both ways).
 *
 * The `Host` header is kept as the proxy's own, so the registry's absolute `Location` URLs (upload sessions) point
 * back at the proxy and the whole conversation stays under the rule's control.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | 'pass'
  /** Answer locally, never contacting the registry (e.g. 429 with `Retry-After: 1`, 503). */
  | { status: number; headers?: Record<string, string>; body?: string | Uint8Array }
  /** Forward; send the registry's status and headers and the first N body bytes, then destroy the connection. */
  | { dropAfterBytes: number }
  /** Wait, then forward. */
  | { delayMs: number }
  /**
   * Forward; send the registry's status and headers, the first `afterBytes` (default 0) body bytes as they come (on
   * the next tick), then `bytes` bytes every `everyMs`: a registry (or a link) that trickles, never stalling long enough for a chunk
   * timeout to notice.
   */
  | { trickle: { afterBytes?: number; bytes: number; everyMs: number } }
  /** Forward, adding these headers to the registry's response (a budget a registry announces: `RateLimit-*`). */
  | { addHeaders: Record<string, string> };

export interface FaultRequestInfo {
  /** 0-based, in arrival order. */
  index: number;
  method: string;
  /** Path without the query string. */
  path: string;
  /** Path with the query string, as forwarded. */
  url: string;
  headers: http.IncomingHttpHeaders;
}

export type FaultRule = (req: FaultRequestInfo) => FaultAction | Promise<FaultAction>;

export interface ProxiedRequest {
  index: number;
  method: string;
  path: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Status sent to the client (the registry's, or the local one); unset if none was sent. */
  status?: number;
  /** `pass`, `status:429`, `drop:1000`, `delay:50`. */
  action: string;
  /** Body bytes sent to the client. */
  bytesSent: number;
  /** Set when forwarding failed (the client then got a 502 or a dropped connection). */
  error?: string;
}

// Per-connection headers that must not be forwarded (RFC 9110 §7.6.1); node sets its own framing. `expect` too:
// node's server already answered `100 Continue` to the client before our handler ran.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function describeAction(a: FaultAction): string {
  if (a === 'pass') return 'pass';
  if ('status' in a) return `status:${a.status}`;
  if ('dropAfterBytes' in a) return `drop:${a.dropAfterBytes}`;
  if ('trickle' in a) return `trickle:${a.trickle.bytes}/${a.trickle.everyMs}ms`;
  if ('addHeaders' in a) return `headers:${Object.keys(a.addHeaders).join(',')}`;
  return `delay:${a.delayMs}`;
}

export class FaultInjectingProxy {
  readonly host: string;
  readonly url: string;
  /** Decides each request's fate; replace it at any time. */
  rule: FaultRule;
  readonly requests: ProxiedRequest[] = [];

  private readonly server: http.Server;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly targetHost: string;
  private readonly targetPort: number;

  private constructor(server: http.Server, target: string, rule: FaultRule) {
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    this.rule = rule;
    const m = /^(.*):(\d+)$/.exec(target.replace(/^https?:\/\//, '').replace(/\/+$/, ''));
    if (!m) throw new Error(`FaultInjectingProxy: target must be host:port, got ${target}`);
    this.targetHost = m[1]!.replace(/^\[|\]$/g, '');
    this.targetPort = Number(m[2]);
  }

  /** Starts on a free loopback port in front of `target` (`host:port` of the real registry). */
  static async start(target: string, rule: FaultRule = () => 'pass'): Promise<FaultInjectingProxy> {
    let self: FaultInjectingProxy | undefined;
    const server = http.createServer((req, res) => {
      void self!.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new FaultInjectingProxy(server, target, rule);
    return self;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const record: ProxiedRequest = {
      index: this.requests.length,
      method: req.method ?? 'GET',
      path: url.split('?')[0]!,
      url,
      headers: { ...req.headers },
      action: 'pass',
      bytesSent: 0,
    };
    this.requests.push(record);
    let action: FaultAction;
    try {
      action = await this.rule({ index: record.index, method: record.method, path: record.path, url, headers: req.headers });
    } catch (err) {
      action = { status: 500, body: `FaultInjectingProxy rule threw: ${String(err)}` };
    }
    record.action = describeAction(action);

    if (action !== 'pass' && 'status' in action) {
      // Read (and discard) any request body first: closing a socket with unread input resets it, and the client
      // would see a connection error instead of our status.
      req.resume();
      await new Promise<void>((resolve) => (req.complete ? resolve() : req.once('end', resolve).once('error', resolve)));
      const body = typeof action.body === 'string' || action.body === undefined ? Buffer.from(action.body ?? '') : Buffer.from(action.body);
      record.status = action.status;
      res.writeHead(action.status, { 'content-length': body.length, ...(action.headers ?? {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
      record.bytesSent = req.method === 'HEAD' ? 0 : body.length;
      return;
    }
    if (action !== 'pass' && 'delayMs' in action) await new Promise((r) => setTimeout(r, action.delayMs));
    const dropAfter = action !== 'pass' && 'dropAfterBytes' in action ? action.dropAfterBytes : undefined;
    const trickle = action !== 'pass' && 'trickle' in action ? action.trickle : undefined;
    const addHeaders = action !== 'pass' && 'addHeaders' in action ? action.addHeaders : undefined;

    const upstream = http.request({
      host: this.targetHost,
      port: this.targetPort,
      method: req.method,
      path: url,
      headers: forwardable(req.headers), // includes the proxy's Host, on purpose (see the file comment)
      agent: this.agent,
    });
    const fail = (err: Error) => {
      record.error ??= err.message;
      if (!res.headersSent) {
        record.status = 502;
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`FaultInjectingProxy: upstream error: ${err.message}`);
      } else {
        res.destroy();
      }
    };
    upstream.on('error', fail);
    // A client that goes away mid-request or mid-response must not leave the registry streaming to nobody.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);

    upstream.on('response', (up) => {
      record.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.statusMessage, { ...forwardable(up.headers), ...addHeaders });
      if (trickle) {
        this.trickle(up, res, record, trickle);
        return;
      }
      if (dropAfter === undefined) {
        up.on('data', (c: Buffer) => (record.bytesSent += c.length));
        up.on('error', fail);
        up.on('aborted', () => fail(new Error('upstream aborted')));
        up.pipe(res);
        return;
      }
      const socket = res.socket;
      const drop = () => {
        up.destroy();
        upstream.destroy();
        // end() (not destroy()) flushes what is queued, then closes: the client gets exactly N bytes and then a
        // connection closed short of Content-Length. The destroy is a backstop for a client that never closes.
        socket?.end();
        setTimeout(() => socket?.destroy(), 2000).unref();
      };
      if (dropAfter === 0) {
        res.flushHeaders();
        drop();
        return;
      }
      let dropped = false;
      up.on('data', (c: Buffer) => {
        if (dropped) return;
        const room = dropAfter - record.bytesSent;
        const part = c.length > room ? c.subarray(0, room) : c;
        record.bytesSent += part.length;
        if (record.bytesSent >= dropAfter) {
          dropped = true;
          up.pause();
          res.write(part, () => drop());
        } else if (!res.write(part)) {
          up.pause();
          res.once('drain', () => up.resume());
        }
      });
      // A body shorter than N is delivered whole; the response then ends normally.
      up.on('end', () => !dropped && res.end());
      up.on('error', fail);
    });
  }

  /** Sends `up`'s body to `res` as the trickle action says; stops when either side goes away. */
  private trickle(up: http.IncomingMessage, res: http.ServerResponse, record: ProxiedRequest, t: { afterBytes?: number; bytes: number; everyMs: number }): void {
    let queued = Buffer.alloc(0);
    let ended = false;
    let first = t.afterBytes ?? 0;
    up.on('data', (c: Buffer) => {
      queued = Buffer.concat([queued, c]);
      if (queued.length > 1 << 20) up.pause(); // enough held back; taken again as the queue drains
    });
    up.on('end', () => (ended = true));
    up.on('error', () => res.destroy());
    const send = (n: number): void => {
      const part = queued.subarray(0, n);
      queued = queued.subarray(part.length);
      if (part.length > 0) {
        record.bytesSent += part.length;
        res.write(part);
      }
      if (queued.length < 1 << 19) up.resume();
      if (ended && queued.length === 0) {
        clearInterval(timer);
        res.end();
      }
    };
    const timer = setInterval(() => {
      if (first > 0 && queued.length > 0) {
        const n = Math.min(first, queued.length);
        first -= n;
        send(n);
        return;
      }
      send(t.bytes);
    }, t.everyMs);
    res.on('close', () => {
      clearInterval(timer);
      up.destroy();
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }
}
