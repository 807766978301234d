/**
 * A real memcached for the tests: found on PATH (installed from Debian's package when missing and we are root),
 * started as a daemon on a free loopback port (`-l 127.0.0.1 -p PORT -U 0 -m 64 -d -P DIR/pid`), stopped by the
 * PID it wrote.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, which } from './net.js';

let resolved: { path?: string; reason?: string } | undefined;

/**
 * Path of `memcached`, installing it (`apt-get install -y --no-install-recommends memcached`) when it is missing
 * and we run as root; `undefined` (with {@link memcachedUnavailableReason}) when it cannot be had.
 */
export function findMemcached(): string | undefined {
  if (resolved) return resolved.path;
  let p = process.env.MEMCACHED ?? which('memcached');
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'memcached'], { env, stdio: 'ignore', timeout: 180_000 });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 180_000 });
      install();
    }
    p = which('memcached');
  }
  resolved = p
    ? { path: p }
    : { reason: 'memcached is not installed and could not be installed (not root, or apt-get failed): apt-get install memcached' };
  // CI sets this: there, a missing service must fail the run, not skip the tests that need it.
  if (!resolved.path && process.env.MOTE_REQUIRE_SERVICES === '1') {
    throw new Error(`MOTE_REQUIRE_SERVICES=1 but ${resolved.reason}`);
  }
  return resolved.path;
}

export function memcachedUnavailableReason(): string {
  findMemcached();
  return resolved?.reason ?? '';
}

/** One `version` over a raw socket (text protocol): true on `VERSION ...`. */
export function memcachedAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('version\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('VERSION '));
    });
  });
}

/** `flush_all` over a raw socket: resolves once memcached answers OK. */
export function flushMemcached(port: number, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (err?: Error) => {
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    sock.setTimeout(timeoutMs, () => done(new Error('flush_all: no answer')));
    sock.once('error', (e) => done(e));
    sock.once('connect', () => sock.write('flush_all\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('OK') ? undefined : new Error(`flush_all: ${buf.trim()}`));
    });
  });
}

export interface MemcachedServer {
  port: number;
  /** `127.0.0.1:PORT`, as `MemcachedKeyValueStore` takes it. */
  servers: string;
  pid: number;
  dir: string;
  /** Stops the daemon (SIGTERM, then SIGKILL after 2 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Running (a zombie is not: the daemon is reparented, and whoever reaps it here may never do so). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 2000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while (alive(pid) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 20));
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Starts memcached on a free loopback port (or on `port`); resolves once it answers. */
export async function startMemcached(fixedPort?: number): Promise<MemcachedServer> {
  const bin = findMemcached();
  if (!bin) throw new Error(memcachedUnavailableReason());
  let lastErr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'motecache-memcached-'));
    const pidFile = path.join(dir, 'pid');
    const args = ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', '-d', '-P', pidFile];
    if (process.getuid?.() === 0) args.push('-u', 'root'); // memcached refuses to run as root without it
    // -d: the daemon forks and the command returns at once; its PID is in the file.
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10_000 });
    let pid: number | undefined;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      pid ??= readPid(pidFile);
      if (pid !== undefined && (await memcachedAnswers(port))) {
        const p = pid;
        let stopped = false;
        const stop = async () => {
          if (!stopped) {
            stopped = true;
            await stopPid(p);
          }
          fs.rmSync(dir, { recursive: true, force: true });
        };
        return { port, servers: `127.0.0.1:${port}`, pid: p, dir, stop };
      }
      if (r.status !== 0 && pid === undefined) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    lastErr = `${r.stderr || ''}${r.error ? String(r.error) : ''}`.trim() || 'no answer within 5 s';
    if (pid !== undefined) await stopPid(pid);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  throw new Error(`memcached did not start: ${lastErr}`);
}
