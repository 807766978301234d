/**
 * A real memcached for the tests: found on PATH (installed from Debian's package when missing and we are root),
 * started as a daemon on a free loopback port (`-l 127.0.0.1 -p PORT -U 0 -m 64 -d -P DIR/pid`), stopped by the
 * PID it wrote.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';
import { askLine, findServiceBinary } from './services.js';

let resolved: { path?: string; reason?: string } | undefined;

/**
 * Path of `memcached`, installing it (`apt-get install -y --no-install-recommends memcached`) when it is missing
 * and we run as root; `undefined` (with {@link memcachedUnavailableReason}) when it cannot be had.
 */
export function findMemcached(): string | undefined {
  resolved ??= findServiceBinary('memcached', 'MEMCACHED', 'memcached');
  return resolved.path;
}

export function memcachedUnavailableReason(): string {
  findMemcached();
  return resolved?.reason ?? '';
}

/** One `version` over a raw socket (text protocol): true on `VERSION ...`. */
export async function memcachedAnswers(port: number, timeoutMs = 500): Promise<boolean> {
  return (await askLine(port, 'version', timeoutMs))?.startsWith('VERSION ') === true;
}

/** `flush_all` over a raw socket: resolves once memcached answers OK. */
export async function flushMemcached(port: number, timeoutMs = 2000): Promise<void> {
  const answer = await askLine(port, 'flush_all', timeoutMs);
  if (answer !== 'OK') throw new Error(`flush_all: ${answer ?? 'no answer'}`);
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
