/**
 * A process killed with SIGKILL in the middle of a large write (or a read) leaves nothing visible at the blob
 * path; its temporary stays under .mote/tmp until it is stale, and is then swept by initialize().
 * The child (test/children/crash-*.mjs) runs the built package.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMoteCache, MoteNotFoundError } from '../../../src/index.js';
import { killLiveChildren, pollUntil, startChild } from '../../helpers/children.js';
import { content, contentDigest } from '../../helpers/gen.js';
import { makeTempDir, randomData, temporaries } from '../../helpers/tmp.js';

const MIB = 1 << 20;
const SIZE = 200 * MIB;
const SEED = 'crash-test';
/** The child writes this much at full speed, then slows down to 1 MiB per 100 ms. */
const FAST = 24 * MIB;
/** Kill once the temporary holds at least this much. */
const KILL_AT = 8 * MIB;

describe('SIGKILL in the middle of a write', () => {
  let scratch: { dir: string; cleanup: () => void };
  let digest: string;
  beforeAll(async () => {
    scratch = makeTempDir('motecache-crash-');
    digest = await contentDigest(SEED, SIZE);
  });
  afterAll(() => {
    killLiveChildren();
    scratch.cleanup();
  });

  it('leaves nothing at the blob path, keeps a fresh temporary, sweeps it once stale, and the mote can be written again', async () => {
    const root = path.join(scratch.dir, 'cache');
    const c = startChild('crash-writer.mjs', [root, digest, String(SIZE), SEED, String(FAST)]);
    await c.waitForLine('WRITING');
    const tmpDir = path.join(root, '.mote', 'tmp');
    const prefix = `${c.child.pid}-`;
    // Wait until the child's ingest temporary has real bytes in it, then kill it mid-write.
    const temp = await pollUntil(
      () => {
        for (const name of fs.readdirSync(tmpDir)) {
          if (!name.startsWith(prefix) || !name.endsWith('.ingest')) continue;
          const st = fs.statSync(path.join(tmpDir, name), { throwIfNoEntry: false });
          if (st && st.size >= KILL_AT) return name;
        }
        return undefined;
      },
      20_000,
      'the child to write into its temporary',
    );
    c.child.kill('SIGKILL');
    const r = await c.done;
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).not.toContain('finished');

    // Nothing visible: no blob, not "existing", not findable, not readable.
    const probe = new FileMoteCache(root);
    try {
      const blobPath = probe.moteRef(digest);
      expect(blobPath).toBe(path.join(root, 'blobs', 'sha256', digest.slice('sha256:'.length)));
      expect(fs.existsSync(blobPath)).toBe(false);
      expect(await probe.moteExists(digest)).toBe(false);
      expect(await probe.find(digest)).toBeUndefined();
      await expect(probe.moteReader(digest)).rejects.toBeInstanceOf(MoteNotFoundError);
      expect(fs.readdirSync(path.join(root, 'blobs', 'sha256'))).toEqual([]);
      expect((await probe.stats()).count).toBe(0);
    } finally {
      await probe.close();
    }

    // The half-written temporary is there (partial: more than we waited for, less than the whole mote).
    expect(temporaries(root)).toEqual([temp]);
    const tempPath = path.join(tmpDir, temp);
    const partial = fs.statSync(tempPath).size;
    expect(partial).toBeGreaterThanOrEqual(KILL_AT);
    expect(partial).toBeLessThan(SIZE);

    // With the default staleAfterMs (one hour) a fresh temporary is kept: it could be a live writer's.
    const defaults = new FileMoteCache(root);
    await defaults.initialize();
    expect(temporaries(root)).toEqual([temp]);
    // Age is max(mtime, ctime): backdating mtime alone (utimes bumps ctime) does not make it stale.
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(tempPath, twoHoursAgo, twoHoursAgo);
    await defaults.initialize();
    expect(temporaries(root)).toEqual([temp]);
    // verify() sweeps with the same rule: still kept.
    expect((await defaults.verify()).sweptTemporaries).toBe(0);
    expect(temporaries(root)).toEqual([temp]);
    await defaults.close();

    // staleAfterMs: 0 makes it stale at once: initialize() sweeps it.
    const sweeper = new FileMoteCache(root, { staleAfterMs: 0 });
    await sweeper.initialize();
    expect(temporaries(root)).toEqual([]);
    expect(fs.existsSync(tempPath)).toBe(false);
    await sweeper.close();

    // Writing the same mote again (same digest, full content) succeeds and publishes it whole.
    const cache = new FileMoteCache(root);
    try {
      await cache.initialize();
      await cache.createMote(digest, 'application/vnd.test.big', SIZE);
      await pipeline(Readable.from(content(SEED, SIZE)), await cache.moteWriter(digest));
      expect(await cache.moteExists(digest)).toBe(true);
      expect(await cache.find(digest)).toEqual({ digest, size: SIZE, mediaType: 'application/vnd.test.big' });
      const st = fs.statSync(cache.moteRef(digest));
      expect(st.size).toBe(SIZE);
      const h = createHash('sha256');
      for await (const chunk of await cache.moteReader(digest)) h.update(chunk as Buffer);
      expect(`sha256:${h.digest('hex')}`).toBe(digest);
      expect(temporaries(root)).toEqual([]);
    } finally {
      await cache.close();
    }
  });

  it('a reader killed mid-read leaves its private read link, which keeps prune off the mote until it is swept', async () => {
    const root = path.join(scratch.dir, 'reader-cache');
    const cache = new FileMoteCache(root, { durable: false });
    try {
      const data = randomData(3 * MIB);
      const { digest: d } = await cache.put(data);
      const c = startChild('crash-reader.mjs', [root, d]);
      await c.waitForLine('READING');
      c.child.kill('SIGKILL');
      expect((await c.done).signal).toBe('SIGKILL');

      const links = temporaries(root);
      expect(links).toHaveLength(1);
      expect(links[0]).toMatch(new RegExp(`^${c.child.pid}-[0-9a-f]+\\.read$`));
      const blob = cache.moteRef(d);
      expect(fs.statSync(blob).nlink).toBe(2);

      // A leaked link means "somebody is reading": prune leaves the mote alone.
      expect((await cache.prune(0)).removed).toBe(0);
      expect(await cache.moteExists(d)).toBe(true);

      // Fresh (link() bumped the inode's ctime): kept by default. Stale: swept, and prune can work again.
      const defaults = new FileMoteCache(root);
      await defaults.initialize();
      await defaults.close();
      expect(temporaries(root)).toHaveLength(1);
      const sweeper = new FileMoteCache(root, { staleAfterMs: 0 });
      await sweeper.initialize();
      await sweeper.close();
      expect(temporaries(root)).toEqual([]);
      expect(fs.statSync(blob).nlink).toBe(1);
      // The blob itself is untouched by the sweep.
      expect(createHash('sha256').update(await cache.get(d)).digest('hex')).toBe(d.slice('sha256:'.length));
      const pruned = await cache.prune(0);
      expect(pruned.removed).toBe(1);
      expect(pruned.remainingBytes).toBe(0);
      expect(await cache.moteExists(d)).toBe(false);
    } finally {
      await cache.close();
    }
  });
});
