/**
 * `mote serve`'s process side: a mirror behind an HTTP (or HTTPS) listener, the size cap enforced in the
 * background, and a graceful close (stop accepting, let in-flight responses finish within a deadline, then cut).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parseListen } from '../warm/server.js';
import { createMirror, type Mirror } from './mirror.js';
import { CLIENT_IDLE_MS, HEADERS_TIMEOUT_MS, HIGH_WATERMARK, LOW_WATERMARK, PRUNE_INTERVAL_MS, SHUTDOWN_DEADLINE_MS, type MirrorOptions } from './options.js';

export interface MirrorServerOptions extends MirrorOptions {
  /** `host:port`; default 127.0.0.1:5000. */
  listen: string;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Size cap of the store in bytes: pruned (least recently used first) from the high to the low watermark. */
  maxSize?: number;
  /** How often the size cap is checked; default {@link PRUNE_INTERVAL_MS}. */
  pruneIntervalMs?: number;
  /** Called when a background prune fails (the server goes on). */
  onPruneError?: (err: unknown) => void;
}

export interface MirrorServer {
  /** `host:port` it listens on. */
  address: string;
  url: string;
  mirror: Mirror;
  /** Stops accepting; in-flight responses get `deadlineMs` (default 10 s) to finish, then are cut. */
  close(deadlineMs?: number): Promise<void>;
}

export async function startMirrorServer(o: MirrorServerOptions): Promise<MirrorServer> {
  const { host, port } = parseListen(o.listen);
  const mirror = createMirror(o);
  const server = o.tls ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, mirror.handler) : http.createServer(mirror.handler);
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 0; // a blob download may take long; idle sockets are bounded by `timeout` below
  server.timeout = CLIENT_IDLE_MS; // a client that stops reading (or vanishes) is dropped
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => (server.off('error', reject), resolve()));
  });
  let pruning = false;
  const prune = async (): Promise<void> => {
    if (o.maxSize === undefined || pruning) return;
    pruning = true;
    try {
      const s = await o.store.stats();
      if (s.bytes > o.maxSize * HIGH_WATERMARK) await o.store.prune(Math.floor(o.maxSize * LOW_WATERMARK));
    } catch (err) {
      o.onPruneError?.(err);
    } finally {
      pruning = false;
    }
  };
  const timer = o.maxSize !== undefined ? setInterval(() => void prune(), o.pruneIntervalMs ?? PRUNE_INTERVAL_MS) : undefined;
  timer?.unref();
  void prune();
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  return {
    address,
    url: `${o.tls ? 'https' : 'http'}://${address}`,
    mirror,
    close: async (deadlineMs = SHUTDOWN_DEADLINE_MS) => {
      if (timer) clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
      await Promise.race([closed, deadline]);
      server.closeAllConnections();
      await closed;
      await mirror.close();
    },
  };
}
