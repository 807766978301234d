import type { Readable, Writable } from 'node:stream';
import type { CommitMode, MoteCache, MoteInfo, MoteReaderAt, PruneOptions, PruneResult, StoreStats, VerifyOptions, VerifyResult } from '../../src/index.js';

/**
 * A decorator that counts calls on a real cache (like distribution's statsBlobStore): lets tests assert how
 * often a fallback was read. It forwards everything; it fakes nothing.
 */
export class CountingCache implements MoteCache {
  readonly calls = { moteReader: 0, moteReaderAt: 0, find: 0, moteExists: 0, removeMote: 0 };
  constructor(readonly inner: MoteCache) {}
  initialize(): Promise<void> {
    return this.inner.initialize();
  }
  isDirty(): boolean {
    return this.inner.isDirty();
  }
  refresh(): Promise<boolean> {
    return this.inner.refresh();
  }
  update(): Promise<void> {
    return this.inner.update();
  }
  moteExists(d: string): Promise<boolean> {
    this.calls.moteExists++;
    return this.inner.moteExists(d);
  }
  find(d: string): Promise<MoteInfo | undefined> {
    this.calls.find++;
    return this.inner.find(d);
  }
  moteRef(d: string): string {
    return this.inner.moteRef(d);
  }
  createMote(d: string, m: string, s: number): Promise<MoteInfo> {
    return this.inner.createMote(d, m, s);
  }
  moteWriter(d: string): Promise<Writable> {
    return this.inner.moteWriter(d);
  }
  moteReader(d: string): Promise<Readable> {
    this.calls.moteReader++;
    return this.inner.moteReader(d);
  }
  moteReaderAt(d: string): Promise<MoteReaderAt> {
    this.calls.moteReaderAt++;
    return this.inner.moteReaderAt(d);
  }
  commitMote(p: string, m: MoteInfo, mode: CommitMode): Promise<void> {
    return this.inner.commitMote(p, m, mode);
  }
  removeMote(d: string): Promise<void> {
    this.calls.removeMote++;
    return this.inner.removeMote(d);
  }
  prune(max: number, o?: PruneOptions): Promise<PruneResult> {
    return this.inner.prune(max, o);
  }
  list(): AsyncIterable<MoteInfo> {
    return this.inner.list();
  }
  stats(): Promise<StoreStats> {
    return this.inner.stats();
  }
  verify(o?: VerifyOptions): Promise<VerifyResult> {
    return this.inner.verify(o);
  }
}
