/**
 * PullThroughCache over a source with several origins (`OriginRejecting`: a registry and its mirrors): bytes that
 * fail verification are read again from the start from the next origin, as often as the source says there is
 * another, and never more. The source here is a hand-written fake over a real FileMoteCache, for a fault no real
 * store produces on demand: origins that serve wrong bytes (the real case, a lying mirror in front of a real
 * registry, is in test/registry/mirrors-registries.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DigestMismatchError,
  FileMoteCache,
  PullThroughCache,
  hasOtherOrigins,
  type MoteInfo,
  type MoteProvider,
  type MoteReaderAt,
  type OriginRejecting,
} from '../../src/index.js';
import { makeTempDir, randomData } from '../helpers/tmp.js';

const { dir: scratch, cleanup } = makeTempDir('motecache-origins-');
afterAll(() => cleanup());
let n = 0;

/**
 * A fake source: `origins` in order, each `true` (serves the blob's bytes) or `false` (serves them with one byte
 * flipped). `rejectServed` moves to the next origin while there is one. `verifies`: streams fail at their end with
 * `DigestMismatchError` when wrong (a source without ranges), else they are unverified (one with ranges).
 */
class Origins implements MoteProvider, OriginRejecting {
  at = 0;
  reads = 0;
  constructor(
    readonly inner: FileMoteCache,
    readonly origins: boolean[],
    readonly verifies: boolean,
  ) {}
  moteExists(d: string): Promise<boolean> {
    return this.inner.moteExists(d);
  }
  find(d: string): Promise<MoteInfo | undefined> {
    return this.inner.find(d);
  }
  moteRef(): string {
    return '';
  }
  moteReaderAt(d: string): Promise<MoteReaderAt> {
    return this.inner.moteReaderAt(d);
  }
  rejectServed(): boolean {
    if (this.at >= this.origins.length - 1) return false;
    this.at++;
    return true;
  }
  async moteReader(d: string): Promise<Readable> {
    return this.stream(d, 0);
  }
  async stream(d: string, offset: number): Promise<Readable> {
    this.reads++;
    const data = Buffer.from(await this.inner.get(d));
    const honest = this.origins[this.at]!;
    if (!honest) data[data.length >> 1] = data[data.length >> 1]! ^ 0xff;
    const verifies = this.verifies;
    return Readable.from(
      (async function* () {
        yield data.subarray(offset);
        if (verifies && !honest) throw new DigestMismatchError(d, 'sha256:' + '0'.repeat(64));
      })(),
    );
  }
}

/** The same with ranges (`moteReaderFrom`): the download verifies what it read. */
class RangeOrigins extends Origins {
  moteReaderFrom(d: string, offset: number): Promise<Readable> {
    return this.stream(d, offset);
  }
}

async function setup(origins: boolean[], ranges: boolean) {
  const root = path.join(scratch, `case-${++n}`);
  const source = new FileMoteCache(path.join(root, 'source'), { durable: false });
  const local = new FileMoteCache(path.join(root, 'local'), { durable: false });
  const data = randomData(300_000);
  const { digest } = await source.put(data);
  const fake = ranges ? new RangeOrigins(source, origins, false) : new Origins(source, origins, true);
  const through = new PullThroughCache(local, fake);
  const close = async () => {
    await local.close();
    await source.close();
  };
  return { root, data, digest, fake, through, local, close };
}

describe.each([
  ['with ranges (bytes verified by the download)', true],
  ['without ranges (the source fails its own stream)', false],
])('a source with other origins, %s', (_label, ranges) => {
  it('two origins serve wrong bytes: read again from the third, which is right', async () => {
    const s = await setup([false, false, true], ranges);
    try {
      expect(hasOtherOrigins(s.fake)).toBe(true);
      await s.through.fetch(s.digest);
      expect((await s.local.get(s.digest)).equals(s.data)).toBe(true);
      expect(s.fake.reads).toBe(3);
    } finally {
      await s.close();
    }
  });

  it('the last origin is wrong too: DigestMismatchError once every origin was read once, no partial left', async () => {
    const s = await setup([false, false], ranges);
    try {
      await expect(s.through.fetch(s.digest)).rejects.toBeInstanceOf(DigestMismatchError);
      expect(s.fake.reads).toBe(2);
      expect(await s.local.moteExists(s.digest)).toBe(false);
      const partials = path.join(s.root, 'local', '.mote', 'partial');
      expect(fs.existsSync(partials) ? fs.readdirSync(partials) : []).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
