// Child process of case 11 (W7): a warmer for one repository with many tags, on a SQLite metadata store, as
// `mote warm` would run it; reports its own memory per phase as one JSON line on stdout.
//   1. first cycle: the tag list, a HEAD per tag, manifest + config of each distinct digest (facts on)
//   2. second cycle on the same Warmer, the clock 10 min on (tag list due, no tag due): the tag list only
//   3. restart: the store closed and reopened, a new Warmer and client, the clock 10 more minutes on: tag list only
// Before each phase the kernel's peak-RSS mark (VmHWM) is reset (`/proc/self/clear_refs` 5) where allowed, so each
// phase's peak is its own; the process's start-up is in the first phase's figure either way. The requests go
// straight to the registry (no rate limit: 100,000 HEADs at 50 req/s would take half an hour).
// argv[2]: JSON { dist (URL of the built package's directory), registry, repository, db }
import { readFileSync, writeFileSync } from 'node:fs';

const { dist, registry, repository, db } = JSON.parse(process.argv[2]);
const { Warmer } = await import(new URL('warm/index.js', dist));
const { KvImageMetadataStore, SqliteKeyValueStore } = await import(new URL('metadata/index.js', dist));
const { RegistryClient } = await import(new URL('registry/index.js', dist));

const status = () => readFileSync('/proc/self/status', 'utf8');
const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status())?.[1] ?? NaN) * 1024;
const resetPeak = () => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};

const name = `${registry}/${repository}`;
let offset = 0;
const now = () => Date.now() + offset;
const newClient = () => new RegistryClient({ credentials: false, rateLimit: { requestsPerSecond: 1e6, burst: 1e6 } });
const newStore = () => new KvImageMetadataStore(new SqliteKeyValueStore(db));
const errors = [];
const requests = {};
const makeWarmer = (client, store) =>
  new Warmer({
    client,
    store,
    repositories: [name],
    now,
    concurrency: 1,
    onRequest: (kind) => (requests[kind] = (requests[kind] ?? 0) + 1),
    onError: (_r, err) => errors.push(String(err?.message ?? err)),
  });

const startup = { rss: process.memoryUsage.rss(), peak: kib('VmHWM') };
const phases = [];
const phase = async (label, fn) => {
  for (const k of Object.keys(requests)) delete requests[k];
  const reset = resetPeak();
  const t0 = performance.now();
  const report = await fn();
  const ms = performance.now() - t0;
  const mem = process.memoryUsage();
  phases.push({ label, ms, peak: kib('VmHWM'), peakReset: reset, rss: mem.rss, heapUsed: mem.heapUsed, requests: { ...requests }, refreshed: report.refreshed.length, failed: report.failed.length, tagsKnown: report.tagsKnown });
};

let client = newClient();
let store = newStore();
let warmer = makeWarmer(client, store);
await phase('first cycle', () => warmer.cycle());
offset += 10 * 60_000;
await phase('second cycle (+10 min)', () => warmer.cycle());

await store.close();
await client.close();
offset += 10 * 60_000;
client = newClient();
store = newStore();
warmer = makeWarmer(client, store);
await phase('restarted warmer (+20 min)', () => warmer.cycle());
await client.close();

// What the store holds (read after every phase's figures: this read is not the warmer's).
const state = await store.getRepository(name);
const tags = Object.values(state?.tags ?? {});
const digests = [...new Set(tags.map((t) => t.digest).filter(Boolean))];
const images = await store.getImages(digests);
const known = { tags: tags.length, withDigest: tags.filter((t) => t.digest).length, digests: digests.length, facts: images.filter(Boolean).length };
await store.close();

process.stdout.write(`${JSON.stringify({ startup, phases, known, errors })}\n`);
