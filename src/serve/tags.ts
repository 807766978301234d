/**
 * What the mirror remembers about tags: tag -> digest (with when it was last checked upstream), and each
 * repository's tag list. One small JSON file per record under `<root>/.mote/serve/`, written atomically (temp +
 * rename), so several servers on one root share them and a restart keeps them. Never pruned with blobs: a tag
 * whose manifest was evicted is fetched again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { mkdirpSync, writeFileAtomic } from '../internal/fs.js';

export interface TagRecord {
  digest: string;
  mediaType: string;
  checkedAt: number;
}

export interface TagListRecord {
  tags: string[];
  checkedAt: number;
}

export class TagRecords {
  readonly #dir: string;
  constructor(root: string) {
    this.#dir = path.join(root, '.mote', 'serve');
  }

  #file(kind: 'tag' | 'list', key: string): string {
    return path.join(this.#dir, `${kind}-${crypto.createHash('sha256').update(key).digest('hex')}.json`);
  }

  get(registry: string, repository: string, tag: string): TagRecord | undefined {
    const r = this.#read(this.#file('tag', `${registry}/${repository}:${tag}`));
    return r && typeof r.digest === 'string' && typeof r.mediaType === 'string' && typeof r.checkedAt === 'number' ? (r as unknown as TagRecord) : undefined;
  }

  async set(registry: string, repository: string, tag: string, r: TagRecord): Promise<void> {
    mkdirpSync(this.#dir);
    await writeFileAtomic(this.#file('tag', `${registry}/${repository}:${tag}`), JSON.stringify(r));
  }

  getList(registry: string, repository: string): TagListRecord | undefined {
    const r = this.#read(this.#file('list', `${registry}/${repository}`));
    return r && Array.isArray(r.tags) && r.tags.every((t) => typeof t === 'string') && typeof r.checkedAt === 'number' ? (r as unknown as TagListRecord) : undefined;
  }

  async setList(registry: string, repository: string, r: TagListRecord): Promise<void> {
    mkdirpSync(this.#dir);
    await writeFileAtomic(this.#file('list', `${registry}/${repository}`), JSON.stringify(r));
  }

  /** A record, or undefined when absent or unreadable (a torn or foreign file is a miss, not an error). */
  #read(file: string): Record<string, unknown> | undefined {
    try {
      const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A glob (`*` any run of characters) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
