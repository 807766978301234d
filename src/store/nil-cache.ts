import { Writable, type Readable } from 'node:stream';
import { parseDigest } from '../digest/index.js';
import { checkSize } from './file/check.js';
import { MoteNotFoundError } from '../errors.js';
import { throwIfAborted } from '../internal/abort.js';
import type { MoteCache } from './roles.js';
import type { CommitMode, MoteInfo, MoteReaderAt, MoteReadOptions, PruneResult, StoreStats, VerifyResult } from './types.js';

/**
 * Caching disabled. Nothing is ever present; writers accept and discard bytes and finish normally; readers
 * reject with MoteNotFoundError (the original returned a reader that never reached end of file).
 */
export class NilCache implements MoteCache {
  async initialize(): Promise<void> {}
  isDirty(): boolean {
    return false;
  }
  async refresh(): Promise<boolean> {
    return false;
  }
  async update(): Promise<void> {}
  async moteExists(digest: string): Promise<boolean> {
    parseDigest(digest);
    return false;
  }
  async find(digest: string): Promise<MoteInfo | undefined> {
    parseDigest(digest);
    return undefined;
  }
  moteRef(digest: string): string {
    parseDigest(digest);
    return '';
  }
  async createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo> {
    parseDigest(digest);
    checkSize(size);
    return { digest, size, mediaType };
  }
  async moteWriter(digest: string): Promise<Writable> {
    parseDigest(digest);
    return new Writable({ write: (_chunk, _enc, cb) => cb() });
  }
  async moteReader(digest: string, options: MoteReadOptions = {}): Promise<Readable> {
    parseDigest(digest);
    throwIfAborted(options.signal);
    throw new MoteNotFoundError(digest, 'caching is disabled (NilCache)');
  }
  async moteReaderAt(digest: string): Promise<MoteReaderAt> {
    parseDigest(digest);
    throw new MoteNotFoundError(digest, 'caching is disabled (NilCache)');
  }
  async commitMote(_sourcePath: string, mote: MoteInfo, _mode: CommitMode): Promise<void> {
    parseDigest(mote?.digest);
  }
  async removeMote(digest: string): Promise<void> {
    parseDigest(digest);
  }
  async prune(_maxSize: number): Promise<PruneResult> {
    return { removed: 0, freedBytes: 0, remainingBytes: 0 };
  }
  async *list(): AsyncIterable<MoteInfo> {}
  async stats(): Promise<StoreStats> {
    return { count: 0, bytes: 0, partialBytes: 0 };
  }
  async verify(): Promise<VerifyResult> {
    return { checked: 0, bytes: 0, corrupt: [], sweptTemporaries: 0 };
  }
}
