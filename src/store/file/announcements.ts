import type { MoteInfo } from '../types.js';

/**
 * Motes announced by `createMote` and not yet written, by digest, with how many announcements are outstanding:
 * several callers may announce the same digest, and each finished writer settles one announcement, so the first
 * writer to finish does not take the registration away from the others (and entries do not pile up forever, as
 * the original's did). The latest announcement's size and media type apply to every writer of that digest.
 */
export class Announcements {
  readonly #pending = new Map<string, { info: MoteInfo; outstanding: number }>();

  announce(info: MoteInfo): void {
    const entry = this.#pending.get(info.digest);
    this.#pending.set(info.digest, { info, outstanding: (entry?.outstanding ?? 0) + 1 });
  }

  get(digest: string): MoteInfo | undefined {
    return this.#pending.get(digest)?.info;
  }

  /** One writer of `digest` published it. A failed writer settles nothing, so the caller can retry. */
  settle(digest: string): void {
    const entry = this.#pending.get(digest);
    if (entry && --entry.outstanding <= 0) this.#pending.delete(digest);
  }
}
