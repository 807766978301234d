// Reads motes through a FileMoteCache that populates from a fallback: a RecordingFallback (populate-fallback.mjs)
// over a real FileMoteCache (the source root), which logs every stream to a shared file and is throttled.
// argv[2]: JSON { root, src, digests, log, bytesPerSec, waitGo }
// stdout: READY (after initialize), then with waitGo a line on stdin starts it; STARTED; a JSON report at the end.
import { createHash } from 'node:crypto';
import { FileMoteCache, errorInfo, report, waitForGo } from './_common.mjs';
import { RecordingFallback, readThrough } from './populate-fallback.mjs';

const cfg = JSON.parse(process.argv[2]);

const source = new FileMoteCache(cfg.src, { durable: false });
const fallback = new RecordingFallback(source, { log: cfg.log, bytesPerSec: cfg.bytesPerSec });
const cache = new FileMoteCache(cfg.root, { fallback, populateFromFallback: true, durable: false });
await cache.initialize();
process.stdout.write('READY\n');
if (cfg.waitGo) await waitForGo();
process.stdout.write('STARTED\n');
const results = await Promise.all(cfg.digests.map((digest) => readThrough(cache, digest, createHash, errorInfo)));
report({ pid: process.pid, results });
