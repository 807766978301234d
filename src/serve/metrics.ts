/**
 * Prometheus metrics of `mote serve` (prom-client, loaded when a mirror is created): requests by route and status
 * with latency, bytes served by where they came from, downloads in flight, requests that joined one, upstream
 * errors, stale answers.
 */
import { createRequire } from 'node:module';

type Prom = typeof import('prom-client');

export class ServeMetrics {
  readonly registry: import('prom-client').Registry;
  readonly requests: import('prom-client').Histogram<'route' | 'method' | 'status'>;
  readonly bytes: import('prom-client').Counter<'from'>;
  readonly inFlight: import('prom-client').Gauge;
  readonly coalesced: import('prom-client').Counter;
  readonly upstreamErrors: import('prom-client').Counter<'route'>;
  readonly stale: import('prom-client').Counter;

  constructor() {
    const p = createRequire(import.meta.url)('prom-client') as Prom;
    const registers = [(this.registry = new p.Registry())];
    this.requests = new p.Histogram({
      name: 'mote_serve_request_duration_seconds',
      help: 'Requests by route, method and status, with their durations (to the last byte)',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers,
    });
    this.bytes = new p.Counter({ name: 'mote_serve_bytes_total', help: 'Blob bytes sent to clients, by where they came from (cache, upstream: a download in progress)', labelNames: ['from'], registers });
    this.inFlight = new p.Gauge({ name: 'mote_serve_downloads_in_flight', help: 'Blob downloads from upstreams this process is serving from', registers });
    this.coalesced = new p.Counter({ name: 'mote_serve_coalesced_requests_total', help: 'Blob requests that joined a download already running (this process)', registers });
    this.upstreamErrors = new p.Counter({ name: 'mote_serve_upstream_errors_total', help: 'Upstream failures, by route', labelNames: ['route'], registers });
    this.stale = new p.Counter({ name: 'mote_serve_stale_answers_total', help: 'Tags answered from the cache because the upstream failed (stale-if-error)', registers });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
