/**
 * What the helpers that start real services (redis-server, memcached) share: finding the binary (installing its
 * Debian package when missing and we are root), and one request-line/answer-line exchange over a raw socket.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { which } from './net.js';

/**
 * A service binary: `$envVar`, else `command` on PATH, else installed with `apt-get install pkg` when we are root.
 * Either its path or why it cannot be had; under `MOTE_REQUIRE_SERVICES=1` (CI) a missing one throws instead.
 */
export function findServiceBinary(command: string, envVar: string, pkg: string): { path?: string; reason?: string } {
  let p = process.env[envVar] ?? which(command);
  if (!p && process.getuid?.() === 0 && which('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env, stdio: 'ignore', timeout: 180_000 });
    if (install().status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 180_000 });
      install();
    }
    p = which(command);
  }
  const found = p ? { path: p } : { reason: `${command} is not installed and could not be installed (not root, or apt-get failed): apt-get install ${pkg}` };
  // CI sets this: there, a missing service must fail the run, not skip the tests that need it.
  if (!found.path && process.env.MOTE_REQUIRE_SERVICES === '1') throw new Error(`MOTE_REQUIRE_SERVICES=1 but ${found.reason}`);
  return found;
}

/** Sends `line` to 127.0.0.1:`port` and resolves to the first answer line (undefined on error or timeout). */
export function askLine(port: number, line: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (answer: string | undefined) => {
      sock.destroy();
      resolve(answer);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.once('error', () => done(undefined));
    sock.once('connect', () => sock.write(`${line}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end !== -1) done(buf.slice(0, end));
    });
  });
}
