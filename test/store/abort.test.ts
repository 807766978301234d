/**
 * AbortSignals on the file store's `put`, `get` and `moteReader`, and on a pull-through read waiting for a download
 * (the read role's part of it, `moteReader(digest, { signal })`, is in the provider conformance suite): an aborted
 * call rejects with the project's AbortError, a stream is destroyed with it and releases its read link, an aborted
 * put leaves no temporary and publishes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, FileMoteCache, PullThroughCache, digestOf, type MoteProvider, type MoteReaderAt } from '../../src/index.js';
import { makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

const MIB = 1 << 20;
let scratch: { dir: string; cleanup: () => void };
let root: string;
const opened: FileMoteCache[] = [];
const open = (dir = root, options: ConstructorParameters<typeof FileMoteCache>[1] = {}): FileMoteCache => {
  const c = new FileMoteCache(dir, { durable: false, ...options });
  opened.push(c);
  return c;
};
const blobs = (dir: string): string[] => {
  try {
    return fs.readdirSync(path.join(dir, 'blobs', 'sha256'));
  } catch {
    return [];
  }
};
const aborted = (): AbortSignal => {
  const c = new AbortController();
  c.abort();
  return c.signal;
};

beforeEach(() => {
  scratch = makeTempDir('motecache-abort-');
  root = path.join(scratch.dir, 'cache');
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

describe('put with a signal', () => {
  it('already aborted: rejects with AbortError and writes nothing, for bytes, streams and iterables', async () => {
    const cache = open();
    const data = randomData(10_000);
    for (const source of [data, Readable.from([data]), (async function* () { yield data; })()]) {
      await expect(cache.put(source, { signal: aborted() })).rejects.toBeInstanceOf(AbortError);
    }
    expect(blobs(root)).toEqual([]);
    expect(temporaries(root)).toEqual([]);
    expect(await cache.moteExists(digestOf(data))).toBe(false);
  });

  it('aborted mid-stream: rejects with AbortError once the temporary is gone, publishes nothing; the source is destroyed', async () => {
    const cache = open();
    const controller = new AbortController();
    const data = randomData(8 * MIB);
    let served = 0;
    const source = new Readable({
      read() {
        setImmediate(() => {
          if (served >= data.length) return this.push(null);
          this.push(data.subarray(served, served + MIB));
          served += MIB;
          if (served === 3 * MIB) controller.abort(new Error('user gave up'));
        });
      },
    });
    const err = await cache.put(source, { digest: digestOf(data), signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ code: 'ABORT_ERR', category: 'aborted' });
    expect(served).toBeLessThan(data.length);
    expect(source.destroyed).toBe(true);
    expect(temporaries(root)).toEqual([]); // already when put settles
    expect(blobs(root)).toEqual([]);
    expect((await cache.stats()).count).toBe(0);
    // The same bytes, not aborted: stored.
    expect((await cache.put(Readable.from([data]), { signal: new AbortController().signal })).digest).toBe(digestOf(data));
  });
});

describe('moteReader and get with a signal', () => {
  it('moteReader: aborted first, nothing is opened; fired mid-read, the stream fails and its read link goes', async () => {
    const cache = open(root, { linkOnRead: true });
    const data = randomData(4 * MIB);
    const { digest } = await cache.put(data);
    await expect(cache.moteReader(digest, { signal: aborted() })).rejects.toBeInstanceOf(AbortError);
    expect(temporaries(root)).toEqual([]);

    const controller = new AbortController();
    const r = await cache.moteReader(digest, { signal: controller.signal });
    expect(temporaries(root).filter((f) => f.endsWith('.read'))).toHaveLength(1); // the private read link
    const closed = new Promise((res) => r.once('close', res));
    const err = await (async () => {
      for await (const _ of r) controller.abort();
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    await closed;
    expect(temporaries(root)).toEqual([]);
    // Nobody reads it any more: prune may take it.
    expect((await cache.prune(0)).removed).toBe(1);
  });

  it('a small mote (read whole at open) is destroyed with AbortError too', async () => {
    const cache = open();
    const { digest } = await cache.put(randomData(1000));
    const controller = new AbortController();
    const r = await cache.moteReader(digest, { signal: controller.signal });
    controller.abort();
    await expect(readAll(r)).rejects.toBeInstanceOf(AbortError);
  });

  it('get: aborted first rejects, small or large; fired while a large mote streams, rejects with AbortError', async () => {
    const cache = open();
    const small = await cache.put(randomData(1000));
    const large = randomData(20 * MIB);
    const { digest } = await cache.put(large);
    await expect(cache.get(small.digest, { signal: aborted() })).rejects.toBeInstanceOf(AbortError);
    await expect(cache.get(digest, { signal: aborted() })).rejects.toBeInstanceOf(AbortError);
    const controller = new AbortController();
    const pending = cache.get(digest, { signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await new Promise((res) => setTimeout(res, 50)); // the destroyed stream's in-flight read comes back
    expect(temporaries(root)).toEqual([]);
    expect((await cache.get(digest, { signal: new AbortController().signal })).equals(large)).toBe(true);
  });
});

/** A source whose stream trickles (64 KiB every 20 ms), for a download that takes a while. */
class SlowSource implements MoteProvider {
  constructor(readonly inner: FileMoteCache) {}
  moteExists(d: string): Promise<boolean> {
    return this.inner.moteExists(d);
  }
  find(d: string) {
    return this.inner.find(d);
  }
  moteRef(d: string): string {
    return this.inner.moteRef(d);
  }
  async moteReader(d: string): Promise<Readable> {
    const data = await this.inner.get(d);
    let off = 0;
    return new Readable({
      read() {
        setTimeout(() => {
          if (off >= data.length) return this.push(null);
          this.push(data.subarray(off, off + 65_536));
          off += 65_536;
        }, 20);
      },
    });
  }
  moteReaderAt(d: string): Promise<MoteReaderAt> {
    return this.inner.moteReaderAt(d);
  }
}

describe('pull-through reads with a signal', () => {
  it('a read waiting for a download gives up at once on abort; the download goes on and is kept', async () => {
    const source = open(path.join(scratch.dir, 'source'));
    const data = randomData(3 * MIB);
    const { digest } = await source.put(data);
    const cache = new PullThroughCache(open(), new SlowSource(source));
    const controller = new AbortController();
    const started = Date.now();
    const pending = cache.moteReader(digest, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(700); // the whole download takes ~960 ms
    await cache.fetch(digest); // joins the download still running
    expect((await readAll(await cache.moteReader(digest))).equals(data)).toBe(true);
  });
});
