/**
 * `mote copy` (the built CLI) against two real registries: the JSON result and exit codes of `pull`, four
 * copies at once on one cache, a copy SIGKILLed mid-push (chunked upload of a large layer) that leaves no tag
 * and is then re-run to completion, credentials from --dest-creds, a destination that refuses pushes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { moteRunner } from '../helpers/cli.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-copycli-');
const { mote, start } = moteRunner(scratch, 120_000);
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const raw = async (r: RegistryHandle, name: string): Promise<string> =>
  (await skopeo(['inspect', '--raw', '--tls-verify=false', ...(r.auth === 'none' ? [] : ['--creds', `${r.username}:${r.password}`]), `docker://${r.host}/${name}`])).stdout;

let a: RegistryHandle;
let b: RegistryHandle;
let app: BuiltImage;
let big: BuiltImage;

beforeAll(async () => {
  if (reason) return;
  [a, b] = await Promise.all([startRegistry(), startRegistry({ auth: 'basic' })]);
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 200_000 }, { size: 20_000 }] });
  // Over the chunked-upload threshold (64 MiB): the upload is several PATCHes, so a kill lands between them.
  big = await makeImage(layout, { tag: 'big', layers: [{ size: 90 << 20 }], compress: false });
  await pushLayout(layout, 'app', a, 'team/app:v1');
  await pushLayout(layout, 'big', a, 'team/big:v1');
}, 300_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  cleanup();
});

describe.skipIf(reason)('mote copy (real registries)', () => {
  it('copies with --dest-compress zstd and --dest-creds, prints the JSON result; four copies at once on one cache', async () => {
    const cache = fresh('cache');
    const creds = ['--dest-creds', `${b.username}:${b.password}`];
    const r = await mote(['--cache', cache, '--json', 'copy', `docker://${a.host}/team/app:v1`, `docker://${b.host}/z/app:v1`, '--dest-compress', 'zstd', ...creds]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out);
    expect(result).toEqual(expect.objectContaining({ layersTransformed: 2, blobsUploaded: 3, bytesFromRegistry: app.totalBytes }));
    expect(JSON.parse(await raw(b, 'z/app:v1')).layers[0].mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');

    const runs = await Promise.all(
      [1, 2, 3, 4].map((i) => mote(['--cache', cache, '--json', 'copy', `docker://${a.host}/team/app:v1`, `docker://${b.host}/four${i}/app:v1`, '--dest-compress-format', 'zstd', ...creds])),
    );
    for (const x of runs) expect(x.code, x.err).toBe(0);
    const results = runs.map((x) => JSON.parse(x.out));
    for (const x of results) {
      expect(x.digest).toBe(result.digest); // the same zstd variants, substituted
      expect(x.layersTransformed).toBe(0);
    }
    for (let i = 1; i <= 4; i++) expect(await raw(b, `four${i}/app:v1`)).toBe(await raw(b, 'z/app:v1'));
  });

  it('a copy killed mid-push leaves no tag; run again, it completes', async () => {
    const cache = fresh('cache');
    const args = ['--cache', cache, '--json', 'copy', `docker://${a.host}/team/big:v1`, `docker://${b.host}/killed/big:v1`, '--dest-creds', `${b.username}:${b.password}`];
    const run = start(args);
    // Killed as soon as the registry has taken its first chunk of the layer.
    for (const until = Date.now() + 60_000; ; ) {
      expect(Date.now() < until && run.child.exitCode === null, 'the copy ended (or took a minute) before its first chunk').toBe(true);
      const reqs = await b.requests();
      if (reqs.some((q) => q.method === 'PATCH' && q.path.startsWith('/v2/killed/big/blobs/uploads/'))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.code).toBe(null);
    await expect(raw(b, 'killed/big:v1')).rejects.toThrow();
    const again = await mote(args);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).bytesFromRegistry).toBe(0); // the kill left the whole image in the store
    expect(await raw(b, 'killed/big:v1')).toBe(await raw(a, 'team/big:v1'));
  });

  it('exit codes: a refusing destination, a missing local image, a bad --dest-compress', async () => {
    const proxy = await startRegistry({ proxyRemoteUrl: a.url });
    try {
      const refused = await mote(['--cache', fresh('cache'), 'copy', `docker://${a.host}/team/app:v1`, `docker://${proxy.host}/team/x:v1`]);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/405/);
    } finally {
      await proxy.stop();
    }
    const layout = fresh('empty');
    fs.mkdirSync(layout);
    const missing = await mote(['--cache', fresh('cache'), 'copy', `oci:${layout}:nope`, `oci:${fresh('out')}`]);
    expect(missing.code).not.toBe(0);
    const bad = await mote(['--cache', fresh('cache'), 'copy', `docker://${a.host}/team/app:v1`, `oci:${fresh('out')}`, '--dest-compress', 'brotli']);
    expect(bad.code).toBe(2);
  });
});
