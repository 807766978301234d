/**
 * `GET/HEAD /v2/<name>/manifests/<tag|digest>` and `/v2/<name>/tags/list`. Manifests are stored in the blob store
 * by digest (immutable: served from it without asking upstream). A tag is answered from its record while younger
 * than the tag max age (or forever when it matches an immutable pattern), else revalidated with one HEAD; when the
 * upstream fails or rate limits, the last known answer is served (stale-if-error) with `Warning: 110` and
 * `X-Mote-Stale: 1`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MirrorContext, Target } from './context.js';
import { SpecError, upstreamError } from './errors.js';
import { MAX_TAGS_PAGE } from './options.js';

const STALE = { warning: '110 - "Response is Stale"', 'x-mote-stale': '1' };

export async function serveManifest(c: MirrorContext, t: Target, ref: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { upstream, repository } = t.route;
  const repo = { registry: upstream.registry, repository };
  let digest: string;
  let mediaType: string | undefined;
  let extra: Record<string, string> = {};
  if (ref.includes(':')) {
    // A digest (validated by the router); a tag never has a ':'.
    digest = ref;
  } else {
    const record = c.tags.get(upstream.registry, repository, ref);
    const fresh = record && (c.now() - record.checkedAt < c.tagMaxAgeMs || c.immutableTags.some((r) => r.test(ref)));
    if (record && fresh && (c.manifests.get(record.digest) !== undefined || (await c.store.moteExists(record.digest)))) {
      digest = record.digest;
      mediaType = record.mediaType;
    } else {
      try {
        const d = await upstream.client.headManifest(repo, ref);
        digest = d.digest;
        mediaType = d.mediaType;
        if (!(await c.store.moteExists(digest))) await fetchManifest(c, t, ref);
        await c.tags.set(upstream.registry, repository, ref, { digest, mediaType, checkedAt: c.now() });
      } catch (err) {
        const e = upstreamError(err, 'MANIFEST_UNKNOWN');
        if (e.code === 'MANIFEST_UNKNOWN' || !record || !(await c.store.moteExists(record.digest))) {
          if (e.code !== 'MANIFEST_UNKNOWN') c.metrics.upstreamErrors.inc({ route: 'manifest' });
          throw e;
        }
        c.metrics.upstreamErrors.inc({ route: 'manifest' });
        c.metrics.stale.inc();
        digest = record.digest;
        mediaType = record.mediaType;
        extra = STALE;
      }
    }
  }
  let entry = c.manifests.get(digest);
  if (!entry) {
    let info = await c.store.find(digest);
    if (!info) {
      try {
        await fetchManifest(c, t, digest);
      } catch (err) {
        c.metrics.upstreamErrors.inc({ route: 'manifest' });
        throw upstreamError(err, 'MANIFEST_UNKNOWN');
      }
      info = await c.store.find(digest);
      if (!info) throw new SpecError('MANIFEST_UNKNOWN', 'the manifest was evicted as it arrived; try again');
    }
    const stored = info.mediaType && info.mediaType !== 'application/octet-stream' ? info.mediaType : (mediaType ?? info.mediaType);
    entry = { bytes: await c.store.get(digest), mediaType: stored };
    c.manifests.set(digest, entry.bytes, entry.mediaType);
  }
  const { bytes, mediaType: type } = entry;
  if (!acceptable(req.headers.accept, type)) {
    throw new SpecError('MANIFEST_UNKNOWN', `the manifest is ${type}, which the Accept header does not list`, { accept: String(req.headers.accept).slice(0, 200) });
  }
  res.writeHead(200, { 'content-type': type, 'docker-content-digest': digest, etag: `"${digest}"`, 'content-length': bytes.length, ...extra });
  res.end(t.head ? undefined : bytes);
}

/** Fetches a manifest upstream (verified against a digest reference by the client) into the store. */
async function fetchManifest(c: MirrorContext, t: Target, ref: string): Promise<void> {
  const m = await t.route.upstream.client.getManifest({ registry: t.route.upstream.registry, repository: t.route.repository }, ref);
  await c.store.put(m.bytes, { digest: m.descriptor.digest, mediaType: m.descriptor.mediaType });
}

/** No Accept, `*\/*`, or a list naming the type (parameters ignored). */
export function acceptable(accept: string | undefined, type: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const v = part.split(';')[0]!.trim().toLowerCase();
    return v === '*/*' || v === type || v === 'application/*';
  });
}

export async function serveTags(c: MirrorContext, t: Target, url: { searchParams: URLSearchParams }, res: ServerResponse): Promise<void> {
  const { upstream, repository } = t.route;
  const nRaw = url.searchParams.get('n');
  const last = url.searchParams.get('last') ?? undefined;
  let n: number | undefined;
  if (nRaw !== null) {
    if (!/^\d{1,9}$/.test(nRaw)) throw new SpecError('PAGINATION_NUMBER_INVALID', `n=${JSON.stringify(nRaw.slice(0, 20))} is not a count`);
    n = Math.min(Number(nRaw), MAX_TAGS_PAGE);
  }
  let tags: string[];
  let extra: Record<string, string> = {};
  try {
    tags = await upstream.client.tags({ registry: upstream.registry, repository });
    await c.tags.setList(upstream.registry, repository, { tags, checkedAt: c.now() });
  } catch (err) {
    const e = upstreamError(err, 'NAME_UNKNOWN');
    const record = c.tags.getList(upstream.registry, repository);
    if (e.code === 'NAME_UNKNOWN' || !record) throw e;
    c.metrics.upstreamErrors.inc({ route: 'tags' });
    c.metrics.stale.inc();
    tags = record.tags;
    extra = STALE;
  }
  let page = [...tags].sort();
  if (last !== undefined) page = page.filter((x) => x > last);
  const more = n !== undefined && page.length > n;
  if (n !== undefined) page = page.slice(0, n);
  const headers: Record<string, string | number> = { 'content-type': 'application/json', ...extra };
  const ns = url.searchParams.get('ns');
  if (more) headers.link = `</v2/${t.name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}${ns !== null ? `&ns=${encodeURIComponent(ns)}` : ''}>; rel="next"`;
  const body = `${JSON.stringify({ name: t.name, tags: page })}\n`;
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(200, headers);
  res.end(t.head ? undefined : body);
}
