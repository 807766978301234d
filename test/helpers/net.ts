/**
 * The tests' one `which` and one `freePort` (the Redis and registry helpers, and tests that need a system tool,
 * use these; bench/util.mjs has its own for the benchmarks).
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';

/** Path of `cmd` on PATH, or `undefined`. */
export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = (r.stdout ?? '').trim(); // null when sh itself cannot be spawned
  return r.status === 0 && p ? p : undefined;
}

/**
 * A free TCP port on 127.0.0.1 (bound then released: someone may take it before the caller binds it, so a
 * server started on it should retry on another port when its bind fails).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
