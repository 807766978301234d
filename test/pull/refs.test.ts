/**
 * The cache's image view (`.mote/refs/`): what `mote images` lists and `--offline` resolves a tag from. One
 * record per tag, replaced by rename: processes recording at once never leave a torn or foreign record, and a
 * reader meanwhile sees an old record or a new one, never part of one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/reference/index.js';
import { listRefs, readRef, recordRef, refsDir, forgetRef, offlineDigest } from '../../src/pull/refs.js';
import { killLiveChildren, sendGo, startChild } from '../helpers/children.js';
import { makeTempDir } from '../helpers/tmp.js';

const { dir: scratch, cleanup } = makeTempDir('motecache-refs-');
let n = 0;
const fresh = (): string => fs.mkdtempSync(path.join(scratch, `root-${++n}-`));
const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
afterAll(() => {
  killLiveChildren();
  cleanup();
});

describe('image refs', () => {
  it('records a tag (latest when none is named), reads and lists it; a reference with a digest records nothing', async () => {
    const root = fresh();
    const d1 = digestOf('one');
    await recordRef(root, parseReference('registry.example.com/team/app'), { digest: d1, mediaType: MANIFEST, size: 10 });
    await recordRef(root, parseReference(`registry.example.com/team/app@${digestOf('x')}`), { digest: digestOf('x'), mediaType: MANIFEST, size: 1 });
    // A tag beside a digest was not resolved (the digest was read): not recorded either.
    await recordRef(root, parseReference(`registry.example.com/team/app:v2@${digestOf('x')}`), { digest: digestOf('x'), mediaType: MANIFEST, size: 1 });
    const read = readRef(root, parseReference('registry.example.com/team/app:latest'));
    expect(read).toMatchObject({ reference: 'registry.example.com/team/app:latest', tag: 'latest', digest: d1, size: 10, platforms: [] });
    expect(listRefs(root).map((r) => r.reference)).toEqual(['registry.example.com/team/app:latest']);
    expect(offlineDigest(root, parseReference('registry.example.com/team/app'))).toBe(d1);
    expect(() => offlineDigest(root, parseReference('registry.example.com/team/app:v2'))).toThrow(expect.objectContaining({ code: 'ERR_MOTE_NOT_CACHED' }));
    expect(forgetRef(root, parseReference('registry.example.com/team/app'))).toBe(true);
    expect(listRefs(root)).toEqual([]);
  });

  it('three processes recording one tag at once, a reader reading meanwhile: every read a whole record, the last write wins', async () => {
    const root = fresh();
    const shared = 'registry.example.com/team/app:v1';
    const rounds = 40;
    const children = [0, 1, 2].map((index) =>
      startChild('refs-writer.mjs', [JSON.stringify({ root, index, rounds, shared, own: `registry.example.com/team/own${index}:v1` })]),
    );
    await Promise.all(children.map((c) => c.waitForLine('READY')));
    const written = new Set([0, 1, 2].flatMap((i) => Array.from({ length: rounds }, (_, r) => digestOf(`${i}/${r}`))));
    let running = true;
    const ended = Promise.all(children.map((c) => c.done)).finally(() => (running = false));
    for (const c of children) sendGo(c);
    const ref = parseReference(shared);
    let found = 0;
    while (running) {
      const r = readRef(root, ref);
      // Once there, the record never goes missing: a torn or half-replaced file would read as missing.
      if (r === undefined) expect(found, 'the record vanished or was torn').toBe(0);
      else {
        found++;
        // Whole and consistent: one writer's digest with that same writer's platform.
        expect(written.has(r.digest), r.digest).toBe(true);
        const writer = [0, 1, 2].find((i) => Array.from({ length: rounds }, (_, k) => digestOf(`${i}/${k}`)).includes(r.digest));
        expect(r.platforms).toEqual([`linux/w${writer}`]);
      }
      const listed = listRefs(root);
      for (const l of listed) expect(written.has(l.digest)).toBe(true);
      if (found > 0) expect(listed.map((l) => l.reference)).toContain(shared);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = (await ended).map((c) => {
      expect(c.code, c.stderr).toBe(0);
      return JSON.parse(c.stdout.trim().split('\n').pop()!) as { index: number; written: string[]; errors: unknown[] };
    });
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.written).toHaveLength(rounds);
    }
    // The shared tag holds the last round of one of the writers; each own tag its writer's last round.
    const last = new Set([0, 1, 2].map((i) => digestOf(`${i}/${rounds - 1}`)));
    expect(last.has(readRef(root, ref)!.digest)).toBe(true);
    expect(listRefs(root).map((r) => [r.reference, r.reference === shared || r.digest === digestOf(`${r.repository.slice(-1)}/${rounds - 1}`)])).toEqual([
      [shared, true],
      ['registry.example.com/team/own0:v1', true],
      ['registry.example.com/team/own1:v1', true],
      ['registry.example.com/team/own2:v1', true],
    ]);
    // No temporaries left behind: every write was renamed into place.
    expect(fs.readdirSync(refsDir(root)).filter((f) => !/^[0-9a-f]{64}\.json$/.test(f))).toEqual([]);
  }, 60_000);
});
