/**
 * Prometheus metrics of a running warmer (prom-client, loaded only by `mote warm`), in the seed's spirit: requests
 * to registries by kind, metadata store operations by outcome with durations, tag changes, failures, cycles.
 */
import { createRequire } from 'node:module';
import type { ImageMetadataStore } from '../metadata/types.js';
import type { RequestKind } from '../images/refresh.js';
import type { CycleReport } from './warmer.js';
import type { RegistryEvent } from '../registry/types.js';

type PromClient = typeof import('prom-client');

export class WarmMetrics {
  readonly #prom: PromClient;
  readonly #registry: import('prom-client').Registry;
  readonly #requests: import('prom-client').Counter<'kind'>;
  readonly #changes: import('prom-client').Counter<'kind'>;
  readonly #failures: import('prom-client').Counter;
  readonly #notified: import('prom-client').Counter;
  readonly #cycles: import('prom-client').Counter;
  readonly #repositories: import('prom-client').Gauge<'state'>;
  readonly #storeOps: import('prom-client').Histogram<'op' | 'outcome'>;
  readonly #tagsKnown: import('prom-client').Gauge;
  readonly #http: import('prom-client').Histogram<'host' | 'method' | 'status'>;
  readonly #rate: import('prom-client').Gauge<'host'>;
  readonly #lag: import('prom-client').Gauge;

  constructor() {
    this.#prom = createRequire(import.meta.url)('prom-client') as PromClient;
    const p = this.#prom;
    const registers = [(this.#registry = new p.Registry())];
    this.#requests = new p.Counter({ name: 'mote_warm_registry_requests_total', help: 'Requests made to registries, by kind', labelNames: ['kind'], registers });
    this.#changes = new p.Counter({ name: 'mote_warm_tag_changes_total', help: 'Tags that appeared, moved or disappeared', labelNames: ['kind'], registers });
    this.#failures = new p.Counter({ name: 'mote_warm_refresh_failures_total', help: 'Repository refreshes that failed', registers });
    this.#notified = new p.Counter({ name: 'mote_warm_notifications_total', help: 'Repositories named by POST /notify', registers });
    this.#cycles = new p.Counter({ name: 'mote_warm_cycles_total', help: 'Warmer cycles completed', registers });
    this.#repositories = new p.Gauge({ name: 'mote_warm_repositories', help: 'Repositories in the last cycle, by outcome', labelNames: ['state'], registers });
    this.#http = new p.Histogram({
      name: 'mote_warm_registry_response_duration_seconds',
      help: 'Registry responses by host, method and status (429s included), with their durations',
      labelNames: ['host', 'method', 'status'],
      buckets: [0.01, 0.05, 0.2, 1, 5, 30],
      registers,
    });
    this.#rate = new p.Gauge({ name: 'mote_warm_registry_rate_limit_rps', help: 'Requests per second allowed per host after 429s', labelNames: ['host'], registers });
    this.#tagsKnown = new p.Gauge({ name: 'mote_warm_tags_known', help: 'Tags known across the warmed repositories', registers });
    this.#lag = new p.Gauge({ name: 'mote_warm_refresh_lag_seconds', help: 'Now minus the oldest deadline still passed after the last cycle', registers });
    this.#storeOps = new p.Histogram({
      name: 'mote_metadata_store_operation_duration_seconds',
      help: 'Metadata store operations, by operation and outcome',
      labelNames: ['op', 'outcome'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2],
      registers,
    });
  }

  request(kind: RequestKind): void {
    this.#requests.inc({ kind });
  }

  /** The registry client's events (its `onEvent`): responses by host, method and status; rate changes by host. */
  registryEvent(e: RegistryEvent): void {
    if (e.type === 'response') {
      let host = '';
      try {
        host = new URL(e.url).host;
      } catch {
        /* a URL the client made: always parses */
      }
      this.#http.observe({ host, method: e.method, status: String(e.status) }, e.durationMs / 1000);
    } else if (e.type === 'rate-limit') {
      this.#rate.set({ host: e.host }, e.requestsPerSecond);
    }
  }

  change(kind: string): void {
    this.#changes.inc({ kind });
  }

  failure(): void {
    this.#failures.inc();
  }

  notified(): void {
    this.#notified.inc();
  }

  cycle(r: CycleReport): void {
    this.#cycles.inc();
    this.#repositories.set({ state: 'refreshed' }, r.refreshed.length);
    this.#repositories.set({ state: 'failed' }, r.failed.length);
    this.#repositories.set({ state: 'not_due' }, r.skipped.length);
    this.#repositories.set({ state: 'leased_elsewhere' }, r.leasedElsewhere.length);
    this.#tagsKnown.set(r.tagsKnown);
    this.#lag.set(r.lagMs / 1000);
  }

  /** The store, with each operation timed and counted by outcome. */
  instrument(store: ImageMetadataStore): ImageMetadataStore {
    const timed = <A extends unknown[], R>(op: string, fn: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const end = this.#storeOps.startTimer({ op });
        try {
          const r = await fn(...a);
          end({ outcome: 'ok' });
          return r;
        } catch (err) {
          end({ outcome: 'error' });
          throw err;
        }
      };
    return {
      getRepository: timed('get_repository', (r: string) => store.getRepository(r)),
      putRepository: timed('put_repository', (...a: Parameters<ImageMetadataStore['putRepository']>) => store.putRepository(...a)),
      getImage: timed('get_image', (d: string) => store.getImage(d)),
      getImages: timed('get_images', (d: readonly string[]) => store.getImages(d)),
      putImage: timed('put_image', (i: Parameters<ImageMetadataStore['putImage']>[0]) => store.putImage(i)),
      acquireLease: timed('acquire_lease', (n: string, o: string, t: number) => store.acquireLease(n, o, t)),
      releaseLease: timed('release_lease', (n: string, o: string) => store.releaseLease(n, o)),
      close: () => store.close(),
    };
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.#registry.contentType, body: await this.#registry.metrics() };
  }
}
