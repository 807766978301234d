/**
 * A store whose blobs/ holds entries that are not regular files (a symlink, a FIFO, a directory named as a digest:
 * left by a tool, a user or an attacker) and a pull through it: nothing is followed, nothing hangs, the entry is
 * replaced by verified bytes. (Found by an adversarial review of the hardening.)
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull } from '../../src/pull/index.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-hostile-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));
const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
let registry: RegistryHandle;
let app: BuiltImage;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 40_000 }] });
  await pushLayout(layout, 'app', registry, 'team/app:v1');
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('hostile entries under blobs/ and a pull', () => {
  for (const placement of ['link', 'copy'] as const) {
    it(`a symlink named as a layer's digest is not followed into the layout (${placement})`, async () => {
      const cache = fresh('cache');
      const dest = fresh('layout');
      const layer = app.manifests[0]!.layers[0]!;
      // Seed the store's layout, then put a symlink to a same-size file of other bytes at the layer's blob path.
      fs.mkdirSync(path.join(cache, 'blobs', 'sha256'), { recursive: true });
      const evil = path.join(scratch, `evil-${n}`);
      fs.writeFileSync(evil, Buffer.alloc(layer.size, 0x41));
      fs.symlinkSync(evil, blobFile(cache, layer.digest));
      await pull(`${registry.host}/team/app:v1`, `oci:${dest}`, { cache, placement });
      const placed = blobFile(dest, layer.digest);
      expect(fs.lstatSync(placed).isSymbolicLink()).toBe(false);
      expect(sha256(fs.readFileSync(placed))).toBe(layer.digest);
    });
  }

  it('a FIFO named as the manifest digest does not hang a pull', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    fs.mkdirSync(path.join(cache, 'blobs', 'sha256'), { recursive: true });
    execFileSync('mkfifo', [blobFile(cache, app.digest)]);
    await pull(`${registry.host}/team/app:v1`, `oci:${dest}`, { cache, deadlineMs: 10_000 });
    expect(fs.lstatSync(blobFile(cache, app.digest)).isFile()).toBe(true);
  }, 20_000);

  it('a directory named as a layer digest is replaced, not a size mismatch', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    const layer = app.manifests[0]!.layers[0]!;
    fs.mkdirSync(blobFile(cache, layer.digest), { recursive: true });
    await pull(`${registry.host}/team/app:v1`, `oci:${dest}`, { cache });
    expect(fs.lstatSync(blobFile(cache, layer.digest)).isFile()).toBe(true);
  });
});
