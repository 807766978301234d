// Two copies of the built package loaded in ONE process (as two bundles of motecache would be), each with its
// own FileMoteCache on the same root, reading the same motes at once. Their fetch locks share a pid: each copy
// must see the other's as live, not take it over.
// argv[2]: JSON { root, src, dists: [dir, dir], digests, log, bytesPerSec }
// stdout: a JSON report { pid, results: [[...copy 0], [...copy 1]] }
import path from 'node:path';
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { errorInfo, report } from './_common.mjs';
import { RecordingFallback, readThrough } from './populate-fallback.mjs';

const cfg = JSON.parse(process.argv[2]);
const copies = await Promise.all(cfg.dists.map((d) => import(pathToFileURL(path.join(d, 'index.js')).href)));
if (copies[0].FileMoteCache === copies[1].FileMoteCache) throw new Error('the two copies are one module');
const caches = copies.map((m, i) => {
  const source = new m.FileMoteCache(cfg.src, { durable: false });
  const fallback = new RecordingFallback(source, { log: cfg.log, bytesPerSec: cfg.bytesPerSec, tag: `copy${i}` });
  return new m.FileMoteCache(cfg.root, { fallback, populateFromFallback: true, durable: false });
});
const results = await Promise.all(
  caches.map((cache) => Promise.all(cfg.digests.map((digest) => readThrough(cache, digest, createHash, errorInfo)))),
);
report({ pid: process.pid, results });
