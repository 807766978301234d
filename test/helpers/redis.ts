/**
 * A real redis-server for the tests: found on PATH (installed from Debian's package when missing and we are
 * root), started on a free loopback port with its data in a temp dir and no persistence, stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, which } from './net.js';

let resolved: { path?: string; reason?: string } | undefined;

/**
 * Path of `redis-server`, installing it (`apt-get install -y --no-install-recommends redis-server`) when it is
 * missing and we run as root; `undefined` (with {@link redisUnavailableReason}) when it cannot be had.
 */
export function findRedisServer(): string | undefined {
  if (resolved) return resolved.path;
  let p = process.env.REDIS_SERVER ?? which('redis-server');
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], { env, stdio: 'ignore', timeout: 180_000 });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 180_000 });
      install();
    }
    p = which('redis-server');
  }
  resolved = p
    ? { path: p }
    : { reason: 'redis-server is not installed and could not be installed (not root, or apt-get failed): apt-get install redis-server' };
  // CI sets this: there, a missing service must fail the run, not skip the tests that need it.
  if (!resolved.path && process.env.MOTE_REQUIRE_SERVICES === '1') {
    throw new Error(`MOTE_REQUIRE_SERVICES=1 but ${resolved.reason}`);
  }
  return resolved.path;
}

export function redisUnavailableReason(): string {
  findRedisServer();
  return resolved?.reason ?? '';
}

/** One PING over a raw socket: true on `+PONG`. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free loopback port (or on `port`); resolves once PING answers. */
export async function startRedis(fixedPort?: number): Promise<RedisServer> {
  const bin = findRedisServer();
  if (!bin) throw new Error(redisUnavailableReason());
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motecache-redis-'));
    const child: ChildProcess = spawn(
      bin,
      ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += String(d)));
    let exited = false;
    const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
    const stop = async () => {
      if (!exited && child.pid) {
        process.kill(child.pid, 'SIGTERM');
        const t = setTimeout(() => !exited && child.pid && process.kill(child.pid, 'SIGKILL'), 2000);
        await exit;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 5000;
    while (!exited && Date.now() < deadline) {
      if (await ping(port)) return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid!, dir, stop };
      await new Promise((r) => setTimeout(r, 20));
    }
    lastErr = stderr || 'no PING answer within 5 s';
    await stop();
  }
  throw new Error(`redis-server did not start: ${lastErr}`);
}
