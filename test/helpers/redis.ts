/**
 * A real redis-server for the tests: found on PATH (installed from Debian's package when missing and we are
 * root), started on a free loopback port with its data in a temp dir and no persistence, stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';
import { askLine, findServiceBinary } from './services.js';

let resolved: { path?: string; reason?: string } | undefined;

/**
 * Path of `redis-server`, installing it (`apt-get install -y --no-install-recommends redis-server`) when it is
 * missing and we run as root; `undefined` (with {@link redisUnavailableReason}) when it cannot be had.
 */
export function findRedisServer(): string | undefined {
  resolved ??= findServiceBinary('redis-server', 'REDIS_SERVER', 'redis-server');
  return resolved.path;
}

export function redisUnavailableReason(): string {
  findRedisServer();
  return resolved?.reason ?? '';
}

/** One PING over a raw socket: true on `+PONG`. */
export async function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return (await askLine(port, 'PING', timeoutMs))?.startsWith('+PONG') === true;
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
