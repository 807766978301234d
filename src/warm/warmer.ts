/**
 * The warmer: keeps a set of repositories fresh in the metadata store (the seed's `Warmer`, flux v1), cycle after
 * cycle. A repository is due when its tag list is older than the poll interval (with jitter, so that many warmers
 * started together spread out) or when `notify` named it (a webhook, a user); due repositories are refreshed a few
 * at a time, notified ones first, each under a lease in the store so that several warmers on one store (processes
 * on one SQLite file, hosts on one Redis or memcached) refresh it once. Deadlines live in the store: a restarted
 * warmer makes no request for what is not due.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { throwIfAborted } from '../internal/abort.js';
import { runPool } from '../internal/pool.js';
import { repositoryOf } from '../images/cache.js';
import { refreshRepository, type RefreshOptions, type RequestKind, type TagChange } from '../images/refresh.js';
import type { ImageMetadataStore } from '../metadata/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import type { RepositoryState } from '../images/types.js';
import {
  CLOCK_SLACK_MS,
  CYCLE_RETRY_MS,
  DEFAULT_JITTER,
  DEFAULT_LEASE_MS,
  DEFAULT_POLL_MS,
  DEFAULT_REPO_CONCURRENCY,
  LEASE_RETRY_MS,
  MAX_IDLE_WAIT_MS,
  MIN_POLL_MS,
  NOTIFY_COALESCE_MS,
} from './options.js';
import { dueAt, summarize, type RepositorySummary } from './schedule.js';

export interface WarmerOptions {
  client: RegistryClient;
  store: ImageMetadataStore;
  repositories: readonly string[];
  /** How old a tag list may get before it is read again (default 5 min). */
  pollIntervalMs?: number;
  /** Repositories refreshed at once (default 2); each refresh has its own request concurrency. */
  concurrency?: number;
  /** HEADs and GETs at once within one repository's refresh (default 4, `DEFAULT_REFRESH_CONCURRENCY`). */
  requestConcurrency?: number;
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
  /** How long a refresh lease lasts (renewed every third of it while the refresh runs; default 5 min). */
  leaseMs?: number;
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
  readonly #pollMs: number;
  readonly #leaseMs: number;
  /** Notified repositories not refreshed yet (coalesced, or leased elsewhere): kept until they are. */
  readonly #priority = new Set<string>();
  /** Each repository's jitter, drawn once: its due time is lastUpdate + poll × (1 + jitter). */
  readonly #spread = new Map<string, number>();
  /** Failures in a row, per repository (the back-off doubles with each). */
  readonly #failures = new Map<string, number>();
  /** What the last look at each repository's state found (for the next due time and the cycle's measures). */
  readonly #seen = new Map<string, RepositorySummary>();
  #wake: (() => void) | undefined;

  constructor(o: WarmerOptions) {
    this.#o = o;
    // One entry per repository however it was spelt (`alpine` and `docker.io/library/alpine` are one).
    const byName = new Map(o.repositories.map((r) => repositoryOf(r)).map((r) => [nameOf(r), r]));
    this.#repos = [...byName.values()];
    const jitter = o.jitter ?? DEFAULT_JITTER;
    if (!(typeof jitter === 'number' && jitter >= 0 && jitter <= 0.5)) throw new InvalidArgumentError(`jitter must be a number from 0 to 0.5, got ${String(jitter)}`);
    this.#pollMs = o.pollIntervalMs ?? DEFAULT_POLL_MS;
    if (!(Number.isSafeInteger(this.#pollMs) && this.#pollMs >= MIN_POLL_MS)) throw new InvalidArgumentError(`the poll interval must be at least ${MIN_POLL_MS} ms, got ${String(o.pollIntervalMs)}`);
    this.#leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
    if (!(Number.isSafeInteger(this.#leaseMs) && this.#leaseMs >= 1000)) throw new InvalidArgumentError(`leaseMs must be at least 1000, got ${String(o.leaseMs)}`);
    for (const [what, n] of [['concurrency', o.concurrency], ['requestConcurrency', o.requestConcurrency]] as const) {
      if (n !== undefined && !(Number.isSafeInteger(n) && n >= 1 && n <= 256)) throw new InvalidArgumentError(`${what} must be an integer from 1 to 256, got ${String(n)}`);
    }
    for (const name of byName.keys()) this.#spread.set(name, (Math.random() * 2 - 1) * jitter);
  }

  /** Moves `repository` to the front of the queue and wakes the warmer (a webhook said it changed). */
  notify(repository: string): void {
    let name: string;
    try {
      name = nameOf(repositoryOf(repository));
    } catch {
      return; // not a repository name: nothing of ours
    }
    if (!this.#spread.has(name)) return; // not one of ours: a webhook for another repository is ignored
    this.#priority.add(name);
    this.#wake?.();
  }

  /** One pass over the repositories: refreshes those due (notified first), each once across warmers. */
  async cycle(signal?: AbortSignal): Promise<CycleReport> {
    const report: CycleReport = { refreshed: [], failed: [], leasedElsewhere: [], skipped: [], tagsKnown: 0, lagMs: 0 };
    const notified = new Set(this.#priority);
    const ordered = [...this.#repos].sort((a, b) => Number(notified.has(nameOf(b))) - Number(notified.has(nameOf(a))));
    await runPool(ordered, this.#o.concurrency ?? DEFAULT_REPO_CONCURRENCY, async (repo) => {
      throwIfAborted(signal);
      const name = nameOf(repo);
      // A store that fails (Redis restarting) fails this repository for this cycle, not the warmer.
      try {
        await this.#one(repo, name, notified.has(name), report, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        report.failed.push(name);
        this.#priority.delete(name); // a notified repository that fails waits for its back-off like any other
        this.#failures.set(name, (this.#failures.get(name) ?? 0) + 1);
        // Its back-off starts now, whether or not the store could record the failure.
        const seen = this.#seen.get(name);
        this.#seen.set(name, { lastUpdate: 0, unresolved: false, tags: 0, oldestDeadline: Infinity, ...seen, failedAt: this.#now() });
        this.#o.onError?.(name, err);
      }
    });
    this.#measure(report);
    return report;
  }

  async #one(repo: RepositoryName, name: string, notified: boolean, report: CycleReport, signal: AbortSignal | undefined): Promise<void> {
    // Not due by what the last look saw: not read again (a state of 100,000 tags is megabytes). Due, or never seen:
    // read under the lease below, where another warmer's refresh since then is seen.
    const seen = this.#seen.get(name);
    if (seen && this.#dueAt(name, seen, notified) > this.#now()) return void report.skipped.push(name);
    const lease = `refresh|${name}`;
    if (!(await this.#o.store.acquireLease(lease, this.#owner, this.#leaseMs))) return void report.leasedElsewhere.push(name);
    // The lease is renewed while the refresh runs; losing it (a stalled store, a clock jump) stops the refresh.
    const lost = new AbortController();
    // Every request of the refresh listens on it (hundreds at once under 429s): not a leak, no warning wanted.
    setMaxListeners(0, lost.signal);
    const renew = setInterval(() => {
      this.#o.store.acquireLease(lease, this.#owner, this.#leaseMs).then(
        (held) => held || lost.abort(new AbortError('refresh lease lost')),
        () => lost.abort(new AbortError('refresh lease could not be renewed')),
      );
    }, Math.floor(this.#leaseMs / 3));
    renew.unref();
    try {
      // Looked at again under the lease: another warmer may have refreshed it while we were deciding.
      const { due, state } = await this.#look(name, notified);
      if (!due) return void report.skipped.push(name);
      const done = await refreshRepository(repo, {
        client: this.#o.client,
        store: this.#o.store,
        stored: state ?? null,
        signal: signal ? unlimited(AbortSignal.any([signal, lost.signal])) : lost.signal,
        ...(this.#o.now && { now: this.#o.now }),
        ...(this.#o.tagFilter && { tagFilter: this.#o.tagFilter }),
        ...(this.#o.facts !== undefined && { facts: this.#o.facts }),
        ...(this.#o.requestConcurrency !== undefined && { concurrency: this.#o.requestConcurrency }),
        ...(this.#o.onChange && { onChange: this.#o.onChange }),
        ...(this.#o.onRequest && { onRequest: this.#o.onRequest }),
      });
      this.#seen.set(name, summarize(done));
      this.#priority.delete(name);
      this.#failures.delete(name);
      report.refreshed.push(name);
    } finally {
      clearInterval(renew);
      await this.#o.store.releaseLease(lease, this.#owner).catch(() => {});
    }
  }

  /**
   * Cycles until `signal` aborts: after each, waits for the next due time, a notify, or the abort. A cycle that
   * fails as a whole is reported and tried again after a pause, never in a tight loop.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let report: CycleReport | undefined;
      try {
        report = await this.cycle(signal);
      } catch (err) {
        if (signal.aborted) break;
        this.#o.onError?.('*', err);
        await this.#idle(signal, CYCLE_RETRY_MS);
        continue;
      }
      this.#o.onCycle?.(report);
      if (signal.aborted) break;
      let wait = this.#untilNextDue(new Set(report.leasedElsewhere));
      if (report.leasedElsewhere.some((n) => this.#priority.has(n))) wait = Math.min(wait, LEASE_RETRY_MS);
      await this.#idle(signal, wait);
    }
  }

  #dueAt(name: string, state: RepositorySummary | undefined, notified: boolean): number {
    const now = this.#now();
    const at = dueAt({ state, now, pollMs: this.#pollMs, spread: this.#spread.get(name)!, failures: this.#failures.get(name) ?? 1 });
    if (!notified) return at;
    // A notification makes a repository due, but not more than once per NOTIFY_COALESCE_MS: a flood of them (a
    // webhook storm, a hostile caller) is one refresh.
    const coalesced = (state?.lastUpdate ?? 0) + NOTIFY_COALESCE_MS;
    return Math.min(at, coalesced > now + CLOCK_SLACK_MS ? now : coalesced);
  }

  /** Reads the repository's state: whether it is due, and the state (handed to the refresh, not read again). */
  async #look(name: string, notified: boolean): Promise<{ due: boolean; state: RepositoryState | undefined }> {
    const state = await this.#o.store.getRepository(name);
    const summary = state && summarize(state);
    if (summary) this.#seen.set(name, summary);
    else this.#seen.delete(name);
    return { due: this.#dueAt(name, summary, notified) <= this.#now(), state };
  }

  /**
   * Until the next repository is due, from what the last cycle saw (each is looked at again before its refresh).
   * One another warmer is refreshing is not looked at again for LEASE_RETRY_MS (its state may not be written yet).
   */
  #untilNextDue(leasedElsewhere: ReadonlySet<string>): number {
    let wait = MAX_IDLE_WAIT_MS;
    const now = this.#now();
    for (const repo of this.#repos) {
      const name = nameOf(repo);
      const due = this.#dueAt(name, this.#seen.get(name), this.#priority.has(name)) - now;
      wait = Math.min(wait, leasedElsewhere.has(name) ? Math.max(due, LEASE_RETRY_MS) : due);
    }
    return Math.max(0, wait);
  }

  /** Tags known and the refresh lag, from the states the cycle saw (no read of its own). */
  #measure(report: CycleReport): void {
    const now = this.#now();
    let oldest = Infinity;
    for (const repo of this.#repos) {
      const name = nameOf(repo);
      const seen = this.#seen.get(name);
      if (!seen || seen.lastUpdate === 0) continue;
      oldest = Math.min(oldest, seen.lastUpdate + this.#pollMs * (1 + this.#spread.get(name)!), seen.oldestDeadline);
      report.tagsKnown += seen.tags;
    }
    report.lagMs = oldest < now ? now - oldest : 0;
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

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

const nameOf = (r: RepositoryName): string => `${r.registry}/${r.repository}`;

function unlimited(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}
