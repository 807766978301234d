import type { KeyValueStore } from '../../src/metadata/index.js';

/** A `KeyValueStore` that passes every call through and records it (which keys were written, round trips). */
export class RecordingStore implements KeyValueStore {
  readonly calls: Array<{ op: string; keys: string[] }> = [];
  /** The largest value written through this store, in bytes. */
  largestValue = 0;

  constructor(readonly inner: KeyValueStore) {}

  get kind(): KeyValueStore['kind'] {
    return this.inner.kind;
  }

  /** Keys written by `set` or `add`, in order. */
  setKeys(): string[] {
    return this.calls.filter((c) => c.op === 'set' || c.op === 'add').flatMap((c) => c.keys);
  }

  #note(op: string, keys: readonly string[], value?: Buffer): void {
    this.calls.push({ op, keys: [...keys] });
    if (value && value.length > this.largestValue) this.largestValue = value.length;
  }

  get(key: string) {
    this.#note('get', [key]);
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]) {
    this.#note('getMany', keys);
    return this.inner.getMany(keys);
  }
  set(key: string, value: Buffer, options?: { ttlMs?: number }) {
    this.#note('set', [key], value);
    return this.inner.set(key, value, options);
  }
  add(key: string, value: Buffer, options: { ttlMs: number }) {
    this.#note('add', [key], value);
    return this.inner.add(key, value, options);
  }
  deleteIf(key: string, expected: Buffer) {
    this.#note('deleteIf', [key]);
    return this.inner.deleteIf(key, expected);
  }
  delete(key: string) {
    this.#note('delete', [key]);
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
}
