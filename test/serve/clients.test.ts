/**
 * More real clients through the mirror where they run here: podman (daemonless, vfs storage under a temp dir) and
 * containerd's `ctr` (a containerd started on a private socket and root). Each is skipped, with the reason, when
 * it is not installed: `apt-get install podman containerd` (not installed by the tests: large, and they need root).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../../src/serve/index.js';
import { FileMoteCache } from '../../src/store/index.js';
import { makeImage } from '../helpers/images.js';
import { which } from '../helpers/net.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const reason = registryUnavailableReason();
const root = process.getuid?.() === 0;
const podman = which('podman') && root ? undefined : 'podman not installed (apt-get install podman) or not root';
const ctr = which('ctr') && which('containerd') && root ? undefined : 'containerd/ctr not installed (apt-get install containerd) or not root';
if (podman) console.warn(`serve clients: skipping podman: ${podman}`);
if (ctr) console.warn(`serve clients: skipping ctr: ${ctr}`);

describe.skipIf(reason !== undefined || (podman !== undefined && ctr !== undefined))('mote serve with podman and ctr', () => {
  let upstream: RegistryHandle;
  let tmp: { dir: string; cleanup: () => void };
  let store: FileMoteCache;
  let mirror: MirrorServer;

  beforeAll(async () => {
    tmp = makeTempDir('mote-serve-clients-');
    upstream = await startRegistry();
    await makeImage(path.join(tmp.dir, 'layout'), { tag: 'v1', layers: [{ size: 1 << 20 }] });
    await pushLayout(path.join(tmp.dir, 'layout'), 'v1', upstream, 'team/app:v1');
    store = new FileMoteCache(path.join(tmp.dir, 'cache'));
    await store.initialize();
    mirror = await startMirrorServer({ listen: '127.0.0.1:0', store, upstreams: [{ url: upstream.url }] });
  }, 120_000);
  afterAll(async () => {
    await mirror?.close(1000);
    await store?.close();
    await upstream?.stop();
    tmp?.cleanup();
  });

  it.skipIf(podman !== undefined)('podman pulls through the mirror', async () => {
    const p = path.join(tmp.dir, 'podman');
    await run('podman', ['--root', `${p}/storage`, '--runroot', `${p}/run`, '--storage-driver', 'vfs', 'pull', '--tls-verify=false', `${mirror.address}/team/app:v1`], { timeout: 120_000 });
    const { stdout } = await run('podman', ['--root', `${p}/storage`, '--runroot', `${p}/run`, '--storage-driver', 'vfs', 'images', '--format', '{{.Repository}}:{{.Tag}}'], { timeout: 60_000 });
    expect(stdout).toContain(`${mirror.address}/team/app:v1`);
  }, 180_000);

  it.skipIf(ctr !== undefined)('ctr pulls (and unpacks) through the mirror', async () => {
    const c = path.join(tmp.dir, 'containerd');
    fs.mkdirSync(c, { recursive: true });
    const sock = path.join(c, 'containerd.sock');
    fs.writeFileSync(path.join(c, 'config.toml'), `version = 2\nroot = "${c}/root"\nstate = "${c}/state"\n[grpc]\n  address = "${sock}"\n`);
    const daemon = spawn('containerd', ['--config', path.join(c, 'config.toml')], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      await run('ctr', ['--address', sock, 'images', 'pull', '--plain-http', `${mirror.address}/team/app:v1`], { timeout: 120_000 });
      const { stdout } = await run('ctr', ['--address', sock, 'images', 'ls', '-q'], { timeout: 60_000 });
      expect(stdout).toContain(`${mirror.address}/team/app:v1`);
    } finally {
      daemon.kill('SIGTERM');
    }
  }, 180_000);
});
