/**
 * `GET/HEAD /v2/<name>/blobs/<digest>`. A cached blob is served from the store (with `Range`, `If-None-Match`)
 * without asking the upstream. A miss starts the pull-through download, or joins the one running in this process
 * or another on the same root, and streams from it as bytes arrive (`PullThroughCache.growingReader`): the
 * upstream sends each blob once, and a lying or broken upstream makes every response fail before its last byte.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { parseDigest } from '../digest/index.js';
import { pullThrough, type MirrorContext, type Target } from './context.js';
import { SpecError, upstreamError } from './errors.js';
import { parseRange } from './range.js';
import { TAIL_POLL_MS } from './options.js';

export async function serveBlob(c: MirrorContext, t: Target, digest: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { algorithm, encoded } = parseDigest(digest);
  const file = path.join(c.store.root, 'blobs', algorithm, encoded);
  // Opened first: a prune that removes it now leaves our descriptor readable to the end.
  const fh = await fs.promises.open(file, 'r').catch(() => undefined);
  if (fh) {
    try {
      return await serveCached(c, fh, digest, req, res, t.head);
    } finally {
      await fh.close().catch(() => {});
    }
  }
  let size: number;
  try {
    size = (await t.route.upstream.client.headBlob({ registry: t.route.upstream.registry, repository: t.route.repository }, digest)).size;
  } catch (err) {
    c.metrics.upstreamErrors.inc({ route: 'blob' });
    throw upstreamError(err, 'BLOB_UNKNOWN');
  }
  const headers = { 'content-type': 'application/octet-stream', 'docker-content-digest': digest, etag: `"${digest}"`, 'accept-ranges': 'bytes' };
  if (t.head) {
    res.writeHead(200, { ...headers, 'content-length': size });
    return void res.end();
  }
  const cache = pullThrough(c, t.route);
  if (req.headers.range !== undefined) {
    // A range of an uncached blob: the whole blob is fetched (once) and the range served from the store.
    parseRange(req.headers.range, size);
    try {
      await cache.fetch(digest, { size });
    } catch (err) {
      c.metrics.upstreamErrors.inc({ route: 'blob' });
      throw upstreamError(err, 'BLOB_UNKNOWN');
    }
    return serveBlob(c, t, digest, req, res);
  }
  const joined = c.downloads.get(digest) ?? 0;
  if (joined > 0) c.metrics.coalesced.inc();
  else c.metrics.inFlight.inc();
  c.downloads.set(digest, joined + 1);
  const abort = new AbortController();
  res.once('close', () => abort.abort());
  try {
    const body = cache.growingReader(digest, size, { pollMs: TAIL_POLL_MS, signal: abort.signal });
    res.writeHead(200, { ...headers, 'content-length': size });
    body.on('data', (chunk: Buffer) => c.metrics.bytes.inc({ from: 'upstream' }, chunk.length));
    await pipeline(body, res);
  } catch (err) {
    // Headers are out: the only honest answer left is to cut the connection before the last byte.
    res.destroy();
    if (!abort.signal.aborted) c.metrics.upstreamErrors.inc({ route: 'blob' });
  } finally {
    const left = (c.downloads.get(digest) ?? 1) - 1;
    if (left > 0) c.downloads.set(digest, left);
    else {
      c.downloads.delete(digest);
      c.metrics.inFlight.dec();
    }
  }
}

async function serveCached(c: MirrorContext, fh: fs.promises.FileHandle, digest: string, req: IncomingMessage, res: ServerResponse, head: boolean): Promise<void> {
  const size = (await fh.stat()).size;
  const etag = `"${digest}"`;
  const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'docker-content-digest': digest, etag, 'accept-ranges': 'bytes' };
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && inm.split(',').some((v) => v.trim() === etag || v.trim() === '*')) {
    res.writeHead(304, headers);
    return void res.end();
  }
  let range;
  try {
    range = parseRange(req.headers.range, size);
  } catch (err) {
    if (err instanceof SpecError) res.setHeader('content-range', `bytes */${size}`);
    throw err;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(range ? 206 : 200, { ...headers, 'content-length': end - start + 1 });
  if (head || size === 0) return void res.end();
  const stream = fh.createReadStream({ start, end, autoClose: false });
  stream.on('data', (chunk) => c.metrics.bytes.inc({ from: 'cache' }, chunk.length));
  try {
    await pipeline(stream, res);
  } catch {
    res.destroy(); // the client went away (or the disk failed): nothing more to say
  }
}
