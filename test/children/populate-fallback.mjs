// RecordingFallback, shared by the populate-* children: a read-only view of a real FileMoteCache (the source
// root) whose every moteReader/moteReaderFrom call appends one JSON line to a shared log (pid, method, digest,
// offset, tag) when it opens and one when its stream ends or dies (bytes served), and streams at most
// `bytesPerSec`, so several processes overlap and a SIGKILL lands mid-download.
import fs from 'node:fs';
import { Readable } from 'node:stream';

const CHUNK = 64 * 1024;

export class RecordingFallback {
  constructor(inner, { log, bytesPerSec, tag }) {
    this.inner = inner;
    this.log = log;
    this.bytesPerSec = bytesPerSec;
    this.tag = tag;
  }
  initialize() {
    return this.inner.initialize();
  }
  isDirty() {
    return false;
  }
  async refresh() {
    return false;
  }
  async update() {}
  moteExists(d) {
    return this.inner.moteExists(d);
  }
  find(d) {
    return this.inner.find(d);
  }
  moteRef() {
    return '';
  }
  async createMote() {
    throw new Error('RecordingFallback is read-only');
  }
  async moteWriter() {
    throw new Error('RecordingFallback is read-only');
  }
  async commitMote() {
    throw new Error('RecordingFallback is read-only');
  }
  async removeMote() {
    throw new Error('RecordingFallback is read-only');
  }
  async prune() {
    return { removed: 0, freedBytes: 0, remainingBytes: 0 };
  }
  moteReaderAt(d) {
    return this.inner.moteReaderAt(d);
  }
  moteReader(d) {
    return this.#stream('moteReader', d, 0);
  }
  moteReaderFrom(d, offset) {
    return this.#stream('moteReaderFrom', d, offset);
  }
  async #stream(method, digest, offset) {
    const r = await this.inner.moteReaderAt(digest);
    const { log, bytesPerSec, tag } = this;
    const line = (o) => fs.appendFileSync(log, JSON.stringify({ pid: process.pid, tag, method, digest, offset, ...o }) + '\n');
    line({ ev: 'open' });
    let served = 0;
    const started = Date.now();
    async function* gen() {
      try {
        for (let pos = offset; pos < r.size; ) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, r.size - pos));
          const n = await r.read(buf, 0, buf.length, pos);
          if (n === 0) break;
          pos += n;
          served += n;
          // Throttle: never ahead of bytesPerSec since this stream started.
          const due = started + (served / bytesPerSec) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
          yield buf.subarray(0, n);
        }
      } finally {
        line({ ev: 'end', bytes: served });
        await r.close();
      }
    }
    return Readable.from(gen(), { objectMode: false });
  }
}

/** Reads `digest` whole through `cache`, hashing it: `{digest, actual, size}` or `{digest, error}`. */
export async function readThrough(cache, digest, createHash, errorInfo) {
  try {
    const h = createHash('sha256');
    let size = 0;
    for await (const chunk of await cache.moteReader(digest)) {
      h.update(chunk);
      size += chunk.length;
    }
    return { digest, actual: `sha256:${h.digest('hex')}`, size };
  } catch (err) {
    return { digest, error: errorInfo(err) };
  }
}
