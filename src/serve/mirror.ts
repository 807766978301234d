/**
 * `createMirror(options)`: the read side of the OCI distribution API over a pull-through store, as a Node
 * request handler (`http.createServer(mirror.handler)`). Routes, validation of names, digests and references
 * before any use, downstream auth, metrics and the access log; the work is in blobs.ts and manifests.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDigest } from '../digest/index.js';
import { isValidRepository, isValidTag } from '../oci/names.js';
import { Htpasswd } from './auth.js';
import { serveBlob } from './blobs.js';
import { ManifestMemo, type MirrorContext, type Target } from './context.js';
import { SpecError, sendError } from './errors.js';
import { serveManifest, serveTags } from './manifests.js';
import { ServeMetrics } from './metrics.js';
import { DEFAULT_TAG_MAX_AGE_MS, MANIFEST_MEMO_BYTES, type MirrorOptions } from './options.js';
import { TagRecords, globToRegExp } from './tags.js';
import { Upstreams } from './upstream.js';

export interface Mirror {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  metrics: ServeMetrics;
  /** Requests being answered now. */
  active(): number;
  /** Closes the upstream connections. */
  close(): Promise<void>;
}

const PATH = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/([^/]+)$/;

export function createMirror(o: MirrorOptions): Mirror {
  const metrics = new ServeMetrics();
  const c: MirrorContext = {
    store: o.store,
    upstreams: new Upstreams(o.upstreams),
    metrics,
    tags: new TagRecords(o.store.root),
    tagMaxAgeMs: o.tagMaxAgeMs ?? DEFAULT_TAG_MAX_AGE_MS,
    immutableTags: (o.immutableTags ?? []).map(globToRegExp),
    now: o.now ?? Date.now,
    caches: new WeakMap(),
    downloads: new Map(),
    manifests: new ManifestMemo(MANIFEST_MEMO_BYTES),
  };
  const auth = o.htpasswd !== undefined ? new Htpasswd(o.htpasswd) : undefined;
  let active = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    active++;
    let route = 'other';
    res.once('close', () => {
      active--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499; // 499: the client went (or we cut the body)
      metrics.requests.observe({ route, method: req.method ?? '', status: String(status) }, seconds);
      o.onAccess?.({ time: new Date().toISOString(), method: req.method, path: (req.url ?? '').slice(0, 500), route, status, bytes: res.getHeader('content-length') ?? null, ms: Math.round(seconds * 1e4) / 10, remote: req.socket.remoteAddress, stale: res.getHeader('x-mote-stale') === '1' || undefined });
    });
    const head = req.method === 'HEAD';
    const fail = (err: unknown): void => {
      const e = err instanceof SpecError ? err : new SpecError('INTERNAL', err instanceof Error ? err.message : String(err));
      sendError(res, e, head);
    };
    (async () => {
      // The raw target, not `new URL()`: that resolves `..` segments, and a name must be judged as the client sent it.
      const target = req.url ?? '/';
      const q = target.indexOf('?');
      const url = { pathname: q >= 0 ? target.slice(0, q) : target, searchParams: new URLSearchParams(q >= 0 ? target.slice(q + 1) : '') };
      if (url.pathname === '/healthz') return void ((route = 'healthz'), res.writeHead(200, { 'content-type': 'application/json' }), res.end('{"status":"ok"}\n'));
      if (url.pathname === '/metrics') {
        route = 'metrics';
        const m = await metrics.render();
        res.writeHead(200, { 'content-type': m.contentType });
        return void res.end(m.body);
      }
      if (!url.pathname.startsWith('/v2')) throw new SpecError('NOT_FOUND', 'not an OCI distribution API path (/v2/...)');
      if (auth && !(await auth.check(req.headers.authorization))) throw new SpecError('UNAUTHORIZED', 'authentication required');
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new SpecError('UNSUPPORTED', 'this mirror is read-only: push and delete are not supported');
      if (url.pathname === '/v2/' || url.pathname === '/v2') {
        route = 'base';
        res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', 'content-length': 3 });
        return void res.end(head ? undefined : '{}\n');
      }
      if (/\/blobs\/uploads(\/|$)/.test(url.pathname)) throw new SpecError('UNSUPPORTED', 'this mirror is read-only: uploads are not supported');
      const m = PATH.exec(url.pathname);
      if (!m) throw new SpecError('NOT_FOUND', 'unknown path');
      const [, name, kind, ref] = m as unknown as [string, string, string, string];
      const raw = (s: string): string => JSON.stringify(s.slice(0, 200));
      // Raw path: no percent-escapes are needed in a name, tag or digest, so none is decoded (no %2e%2e tricks).
      if (!isValidRepository(name)) throw new SpecError('NAME_INVALID', `invalid repository name ${raw(m[1]!)}`);
      const ns = url.searchParams.get('ns') ?? undefined;
      const t: Target = { name, route: c.upstreams.route(name, ns), head };
      route = kind === 'tags' ? 'tags' : kind.replace(/s$/, '');
      if (kind === 'tags') {
        if (ref !== 'list') throw new SpecError('NOT_FOUND', 'unknown path');
        return serveTags(c, t, url, res);
      }
      if (kind === 'manifests') {
        // A tag has no ':' (checked first: isDigest throws and catches inside, and an error's stack costs ~50 µs a request).
        const byDigest = ref.includes(':');
        if (byDigest ? !isDigest(ref) : !isValidTag(ref)) throw new SpecError(byDigest ? 'DIGEST_INVALID' : 'TAG_INVALID', `invalid ${byDigest ? 'digest' : 'tag'} ${raw(m[3]!)}`);
        return serveManifest(c, t, ref, req, res);
      }
      if (!isDigest(ref)) throw new SpecError('DIGEST_INVALID', `invalid digest ${raw(m[3]!)}`);
      if (kind === 'blobs') return serveBlob(c, t, ref, req, res);
      throw new SpecError('NOT_FOUND', 'the referrers API is not served by this mirror yet');
    })().catch(fail);
  };
  return { handler, metrics, active: () => active, close: () => c.upstreams.close() };
}
