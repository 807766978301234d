/**
 * Partial downloads left by a dead owner (a real child SIGKILLed mid-download, test/children/populate-child.mjs)
 * or a failed one are counted apart by `stats()` / `mote du` (`partialBytes`) and reclaimed by `prune()` /
 * `mote prune` and `verify()` / `mote verify` whatever their age, while the partial of a live download (a child
 * still downloading, throttled) is never touched by either and completes with the right bytes.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMoteCache } from '../../../src/index.js';
import { killLiveChildren, lastJson, pollUntil, startChild } from '../../helpers/children.js';
import { makeTempDir, randomData } from '../../helpers/tmp.js';

const MIB = 1 << 20;
const MAIN = fileURLToPath(new URL('../../../dist/bin/mote.js', import.meta.url));

describe('reclaiming partial downloads', () => {
  let scratch: { dir: string; cleanup: () => void };
  let source: FileMoteCache;
  let n = 0;
  beforeAll(() => {
    scratch = makeTempDir('motecache-reclaim-');
    source = new FileMoteCache(path.join(scratch.dir, 'source'), { durable: false });
  });
  afterAll(async () => {
    killLiveChildren();
    await source.close();
    scratch.cleanup();
  });

  const partialOf = (root: string, digest: string): string => path.join(root, '.mote', 'partial', `sha256-${digest.slice(7)}`);
  const sizeOf = (p: string): number => fs.statSync(p, { throwIfNoEntry: false })?.size ?? -1;

  /** A child downloading `digest` into `root` at 4 MiB/s, once its partial holds at least 1 MiB. */
  async function downloading(root: string, digest: string) {
    const log = path.join(scratch.dir, `log-${++n}`);
    const holder = startChild('populate-child.mjs', [JSON.stringify({ root, src: source.root, digests: [digest], log, bytesPerSec: 4 * MIB, waitGo: false })]);
    await holder.waitForLine('STARTED');
    await pollUntil(() => (sizeOf(partialOf(root, digest)) >= MIB ? true : undefined), 20_000, 'the child to download', 20);
    return holder;
  }
  async function killedMidDownload(root: string, digest: string): Promise<number> {
    const holder = await downloading(root, digest);
    holder.child.kill('SIGKILL');
    expect((await holder.done).signal).toBe('SIGKILL');
    return sizeOf(partialOf(root, digest));
  }
  const mote = (root: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, '--cache', root, '--json', ...args], { encoding: 'utf8', timeout: 30_000 });
    return { code: r.status, json: r.stdout ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined, stderr: r.stderr };
  };

  for (const how of ['prune', 'verify'] as const) {
    it(`a SIGKILLed download's partial is counted apart and reclaimed by ${how}() at once (no stale period); a live one is left alone`, async () => {
      const root = path.join(scratch.dir, `cache-${how}`);
      const { digest } = await source.put(randomData(12 * MIB));
      const kept = await killedMidDownload(root, digest);
      expect(kept).toBeGreaterThan(0);
      const cache = new FileMoteCache(root); // staleAfterMs: the default hour
      try {
        await cache.initialize(); // the age-based sweep keeps it for a resume
        expect(await cache.stats()).toEqual({ count: 0, bytes: 0, partialBytes: kept });

        // A live download: neither prune nor verify touches its partial, and it completes with the right bytes.
        const other = await source.put(randomData(8 * MIB));
        const live = await downloading(root, other.digest);
        if (how === 'prune') await cache.prune(0);
        else expect(await cache.verify()).toMatchObject({ corrupt: [] });
        expect(sizeOf(partialOf(root, digest))).toBe(-1); // the dead one's: gone
        expect(sizeOf(partialOf(root, other.digest))).toBeGreaterThan(0); // the live one's: kept
        const done = await live.done;
        expect(done.code, done.stderr).toBe(0);
        const report = lastJson<{ results: Array<{ digest: string; actual?: string }> }>(done);
        expect(report.results).toEqual([expect.objectContaining({ digest: other.digest, actual: other.digest })]);
        expect(await cache.stats()).toEqual({ count: 1, bytes: 8 * MIB, partialBytes: 0 });
        expect(fs.readdirSync(path.join(root, '.mote', 'partial'))).toEqual([]);
      } finally {
        await cache.close();
      }
    });
  }

  it('mote du reports partial bytes apart; mote prune and mote verify reclaim them', async () => {
    for (const command of [['prune', '--max-size', '1GiB'], ['verify']]) {
      const root = path.join(scratch.dir, `cache-cli-${command[0]}`);
      const { digest } = await source.put(randomData(12 * MIB));
      const kept = await killedMidDownload(root, digest);
      const du = mote(root, 'du');
      expect(du.code, du.stderr).toBe(0);
      expect(du.json).toEqual({ count: 0, bytes: 0, partialBytes: kept, cache: root });
      const human = spawnSync(process.execPath, [MAIN, '--cache', root, 'du'], { encoding: 'utf8' });
      expect(human.stdout).toContain(`partial downloads: `);
      const r = mote(root, ...command);
      expect(r.code, r.stderr).toBe(0);
      expect(mote(root, 'du').json).toEqual({ count: 0, bytes: 0, partialBytes: 0, cache: root });
    }
  });
});
