// A real registry for the benchmark: Debian's `docker-registry` (distribution 2.8) on a free loopback port, plain
// HTTP, filesystem storage under `dir`, its access log (combined format) in `dir/access.log`. Cases 10 and 11.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './util.mjs';

/** Starts the registry and waits for `GET /v2/`; returns `{ host, logPath, dataDir, stop }` (`dataDir`: its storage root). */
export async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
      `http:\n  addr: 127.0.0.1:${port}\n`,
  );
  const logPath = join(dir, 'access.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => !exited && child.kill('SIGKILL'), 2000);
      await exit;
      clearTimeout(t);
    }
  };
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.ok) return { host: `127.0.0.1:${port}`, logPath, dataDir: join(dir, 'data'), stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error('docker-registry did not answer GET /v2/ within 10 s');
}
