/**
 * The warmer: keeps a set of repositories fresh in the metadata store (the seed's `Warmer`, flux v1), cycle after
 * cycle. A repository is due when its tag list is older than the poll interval (with jitter, so that many warmers
 * started together spread out) or when `notify` named it (a webhook, a user); due repositories are refreshed a few
 * at a time, notified ones first, each under a lease in the store so that several warmers on one store (processes
 * on one SQLite file, hosts on one Redis or memcached) refresh it once. Deadlines live in the store: a restarted
 * warmer makes no request for what is not due.
 */
import { randomBytes } from 'node:crypto';
import { throwIfAborted } from '../internal/abort.js';
import { runPool } from '../internal/pool.js';
import { repositoryOf } from '../images/cache.js';
import { refreshRepository, type RefreshOptions, type RequestKind, type TagChange } from '../images/refresh.js';
import type { ImageMetadataStore } from '../metadata/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import { DEFAULT_JITTER, DEFAULT_LEASE_MS, DEFAULT_POLL_MS, DEFAULT_REPO_CONCURRENCY, MAX_IDLE_WAIT_MS } from './options.js';

export interface WarmerOptions {
  client: RegistryClient;
  store: ImageMetadataStore;
  repositories: readonly string[];
  /** How old a tag list may get before it is read again (default 5 min). */
  pollIntervalMs?: number;
  /** Repositories refreshed at once (default 2); each refresh has its own request concurrency. */
  concurrency?: number;
  /** A fraction of the poll interval by which each repository's due time is moved at random (default 0.1). */
  jitter?: number;
  now?: () => number;
  tagFilter?: RefreshOptions['tagFilter'];
  facts?: boolean;
  onChange?: (change: TagChange) => void;
  onRequest?: (kind: RequestKind, repository: string) => void;
  /** A repository's refresh failed (its last good state stays, with `lastError`). */
  onError?: (repository: string, error: unknown) => void;
  /** After each cycle of `run()`. */
  onCycle?: (report: CycleReport) => void;
}

export interface CycleReport {
  refreshed: string[];
  failed: string[];
  /** Due, but another warmer held the lease (it refreshes them). */
  leasedElsewhere: string[];
  /** Not due yet. */
  skipped: string[];
  /** Tags known across the repositories after the cycle. */
  tagsKnown: number;
  /** Refresh lag: now minus the oldest deadline (a tag's, or a repository's poll) still passed after the cycle; 0 if none. */
  lagMs: number;
}

export class Warmer {
  readonly #o: WarmerOptions;
  readonly #repos: RepositoryName[];
  readonly #owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
  readonly #priority = new Set<string>();
  /** Each repository's jitter, drawn once: its due time is lastUpdate + poll × (1 + jitter). */
  readonly #spread = new Map<string, number>();
  #wake: (() => void) | undefined;

  constructor(o: WarmerOptions) {
    this.#o = o;
    this.#repos = o.repositories.map((r) => repositoryOf(r));
    const jitter = o.jitter ?? DEFAULT_JITTER;
    for (const r of this.#repos) this.#spread.set(nameOf(r), (Math.random() * 2 - 1) * jitter);
  }

  /** Moves `repository` to the front of the queue and wakes the warmer (a webhook said it changed). */
  notify(repository: string): void {
    const name = nameOf(repositoryOf(repository));
    if (!this.#spread.has(name)) return; // not one of ours: a webhook for another repository is ignored
    this.#priority.add(name);
    this.#wake?.();
  }

  /** One pass over the repositories: refreshes those due (notified first), each once across warmers. */
  async cycle(signal?: AbortSignal): Promise<CycleReport> {
    const report: CycleReport = { refreshed: [], failed: [], leasedElsewhere: [], skipped: [], tagsKnown: 0, lagMs: 0 };
    const notified = new Set(this.#priority);
    this.#priority.clear();
    const ordered = [...this.#repos].sort((a, b) => Number(notified.has(nameOf(b))) - Number(notified.has(nameOf(a))));
    await runPool(ordered, this.#o.concurrency ?? DEFAULT_REPO_CONCURRENCY, async (repo) => {
      throwIfAborted(signal);
      const name = nameOf(repo);
      if (!notified.has(name) && !(await this.#due(name))) return void report.skipped.push(name);
      const lease = `refresh|${name}`;
      if (!(await this.#o.store.acquireLease(lease, this.#owner, DEFAULT_LEASE_MS))) return void report.leasedElsewhere.push(name);
      try {
        // Looked at again under the lease: another warmer may have refreshed it while we were deciding.
        if (!notified.has(name) && !(await this.#due(name))) return void report.skipped.push(name);
        await refreshRepository(repo, {
          client: this.#o.client,
          store: this.#o.store,
          ...(signal && { signal }),
          ...(this.#o.now && { now: this.#o.now }),
          ...(this.#o.tagFilter && { tagFilter: this.#o.tagFilter }),
          ...(this.#o.facts !== undefined && { facts: this.#o.facts }),
          ...(this.#o.onChange && { onChange: this.#o.onChange }),
          ...(this.#o.onRequest && { onRequest: this.#o.onRequest }),
        });
        report.refreshed.push(name);
      } catch (err) {
        if (signal?.aborted) throw err;
        report.failed.push(name);
        this.#o.onError?.(name, err);
      } finally {
        await this.#o.store.releaseLease(lease, this.#owner).catch(() => {});
      }
    });
    await this.#measure(report);
    return report;
  }

  /** Tags known and the refresh lag, from the store as the cycle left it. */
  async #measure(report: CycleReport): Promise<void> {
    const now = this.#now();
    let oldest = Infinity;
    for (const repo of this.#repos) {
      const name = nameOf(repo);
      const state = await this.#o.store.getRepository(name).catch(() => undefined);
      if (!state || state.lastUpdate === 0) continue;
      oldest = Math.min(oldest, state.lastUpdate + this.#poll() * (1 + this.#spread.get(name)!));
      for (const tag of Object.values(state.tags)) {
        report.tagsKnown++;
        if (tag.excluded === undefined && tag.digest !== '') oldest = Math.min(oldest, tag.deadline);
      }
    }
    report.lagMs = oldest < now ? now - oldest : 0;
  }

  /** Cycles until `signal` aborts: after each, waits for the next due time, a notify, or the abort. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const report = await this.cycle(signal).catch((err: unknown) => {
        if (!signal.aborted) throw err;
      });
      if (report) this.#o.onCycle?.(report);
      if (signal.aborted || this.#priority.size > 0) continue;
      await this.#idle(signal, await this.#untilNextDue());
    }
  }

  async #due(name: string): Promise<boolean> {
    const state = await this.#o.store.getRepository(name);
    if (!state || state.lastUpdate === 0) return true;
    return this.#now() >= state.lastUpdate + this.#poll() * (1 + this.#spread.get(name)!);
  }

  async #untilNextDue(): Promise<number> {
    let wait = MAX_IDLE_WAIT_MS;
    for (const repo of this.#repos) {
      const name = nameOf(repo);
      const state = await this.#o.store.getRepository(name).catch(() => undefined);
      if (!state || state.lastUpdate === 0) return 0;
      wait = Math.min(wait, state.lastUpdate + this.#poll() * (1 + this.#spread.get(name)!) - this.#now());
    }
    return Math.max(0, wait);
  }

  #idle(signal: AbortSignal, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  #poll(): number {
    return this.#o.pollIntervalMs ?? DEFAULT_POLL_MS;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

const nameOf = (r: RepositoryName): string => `${r.registry}/${r.repository}`;
