// Case: the image metadata warmer (issue 11) against a real registry (Debian's docker-registry on loopback) behind
// a token-bucket proxy that stands in for a registry's rate limit (bench/rate-limit-proxy.mjs: 50 req/s, a burst of
// 10, 429 + Retry-After when empty). 20 repositories × 200 tags over 50 images each (1,000 distinct manifests),
// pushed with the library's RegistryClient. Each round: a fresh SQLite metadata store, a new client and Warmer,
//   W1 time from the start of the first cycle until every repository's tag list is in the store (a tag-only
//      "latest" answers offline; checked with latestTag): target <= 2 s;
//   W2 requests the proxy saw for full metadata / the minimum (tag-list pages + a HEAD per tag + a GET of each
//      distinct manifest + a GET of each distinct config): target 1.00×;
//   W3 time to full metadata (every tag's digest and every digest's facts stored) / (that minimum / 50 req/s):
//      target <= 1.1×;
//   W4 a second cycle with nothing changed (the clock 10 min on: tag lists due, no tag due): tag-list pages only;
//   W5 429s from the proxy, every round and phase: 0;
//   W6 a restart (store closed and reopened on the same file, a new client and Warmer): 0 requests;
//   W7 peak RSS of a warmer process (bench/cases/warm-memory-child.mjs) with 100,000 tags known (one repository,
//      10 manifests; most tags written into the registry's storage, see seedTagsOnDisk), straight to the registry:
//      target <= 150 MiB;
//   W8 (info) the first cycle with the client's default rate limit instead of the proxy's 50 req/s.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pushManyTags, pushTaggedImages, seedTagsOnDisk } from '../push-tags.mjs';
import { startRateLimitProxy } from '../rate-limit-proxy.mjs';
import { startRegistry } from '../registry.mjs';
import { absRow, checkRow, fmtNum, infoRow, median, MiB, pool, which } from '../util.mjs';

export const title = 'Image metadata warmer (real registry behind a 50 req/s token-bucket proxy)';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const CHILD = fileURLToPath(new URL('./warm-memory-child.mjs', import.meta.url));
const MEMORY_TARGET = 150 * MiB;
const MINUTE = 60_000;

/**
 * The built package, from a copy of dist/ made for this case: the parent and the memory child then run the same
 * code even if dist/ is rebuilt meanwhile (others build while a long benchmark runs). Bare imports (undici,
 * better-sqlite3) still resolve from the repository's node_modules, up the tree.
 */
async function loadLibrary(dir) {
  const copy = join(dir, 'dist');
  cpSync(DIST, copy, { recursive: true });
  const dist = pathToFileURL(`${copy}/`);
  const [warm, metadata, registry, images] = await Promise.all(
    ['warm/index.js', 'metadata/index.js', 'registry/index.js', 'images/index.js'].map((p) => import(new URL(p, dist))),
  );
  if (typeof warm.Warmer !== 'function') throw new Error('dist/warm exports no Warmer');
  return { lib: { ...warm, ...metadata, ...registry, ...images }, dist: dist.href };
}

function skipped(why, s) {
  const repos = `${s.repos} × ${s.tags} tags`;
  return {
    rows: [
      absRow({ id: 'W1', measure: `warmer, ${repos}: time until every tag-only latest answers: ${why}`, maxText: '≤ 2 s' }),
      absRow({ id: 'W2', measure: `requests for full metadata / minimum: ${why}`, maxText: '= 1.00×' }),
      absRow({ id: 'W3', measure: `time to full metadata / (minimum / ${s.rate} req/s): ${why}`, maxText: '≤ 1.1×' }),
      absRow({ id: 'W4', measure: `second cycle, nothing changed: ${why}`, maxText: 'tag-list pages only' }),
      absRow({ id: 'W5', measure: `429s: ${why}`, maxText: '0' }),
      absRow({ id: 'W6', measure: `restart on the same store: ${why}`, maxText: '0 requests' }),
      absRow({ id: 'W7', measure: `warmer peak RSS with ${fmtNum(s.memTags)} tags known: ${why}`, maxText: '≤ 150 MiB' }),
    ],
    details: [`  - skipped: ${why}`],
  };
}

/** Tag-list pages the registry serves for a repository read without `n` (the client asks that way), following `Link`. */
async function tagPages(host, repository) {
  let url = `http://${host}/v2/${repository}/tags/list`;
  let pages = 0;
  let tags = 0;
  while (url) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    tags += ((await res.json()).tags ?? []).length;
    pages++;
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
    url = link ? new URL(link[1], url).href : undefined;
  }
  return { pages, tags };
}

/** The metadata store as the warmer sees it, noting when each repository's tag list and full state land in it. */
function watched(inner, onPut) {
  return {
    getRepository: (n) => inner.getRepository(n),
    async putRepository(state) {
      await inner.putRepository(state);
      onPut(state, performance.now());
    },
    getImage: (d) => inner.getImage(d),
    getImages: (d) => inner.getImages(d),
    putImage: (i) => inner.putImage(i),
    acquireLease: (...a) => inner.acquireLease(...a),
    releaseLease: (...a) => inner.releaseLease(...a),
    close: () => inner.close(),
  };
}

const count = (obj, key, n = 1) => (obj[key] = (obj[key] ?? 0) + n);
const sum = (obj) => Object.values(obj ?? {}).reduce((a, b) => a + b, 0);
/** Requests the proxy saw (forwarded and refused), by kind. */
const seen = (st) => {
  const out = { ...st.forwarded };
  for (const [k, n] of Object.entries(st.limited)) count(out, k, n);
  return out;
};
/** Same request counts by kind (a missing kind is 0). */
const sameCounts = (a, b) => [...new Set([...Object.keys(a), ...Object.keys(b)])].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
const kindsText = (k) =>
  `${fmtNum(k.tags ?? 0)} tag-list pages, ${fmtNum(k.headManifest ?? 0)} HEAD, ${fmtNum(k.getManifest ?? 0)} manifest GET, ${fmtNum(k.getBlob ?? 0)} blob GET` +
  (sum(k) - (k.tags ?? 0) - (k.headManifest ?? 0) - (k.getManifest ?? 0) - (k.getBlob ?? 0) ? `, ${fmtNum(sum(k) - (k.tags ?? 0) - (k.headManifest ?? 0) - (k.getManifest ?? 0) - (k.getBlob ?? 0))} other` : '');

/** Checks the store against what was pushed: every tag with its digest, every digest's facts (created time). */
async function verifyStore(store, names, expected) {
  const problems = [];
  for (const name of names) {
    const want = expected.get(name);
    const state = await store.getRepository(name);
    if (!state) {
      problems.push(`${name}: no state`);
      continue;
    }
    const tags = Object.keys(state.tags);
    if (tags.length !== want.size) problems.push(`${name}: ${tags.length} tags stored, ${want.size} pushed`);
    const wrong = tags.filter((t) => state.tags[t].digest !== want.get(t)?.digest);
    if (wrong.length) problems.push(`${name}: ${wrong.length} tags without the pushed digest (e.g. ${wrong[0]}: ${JSON.stringify(state.tags[wrong[0]].digest)})`);
    const digests = [...new Set([...want.values()].map((p) => p.digest))];
    const infos = await store.getImages(digests);
    const missing = digests.filter((_, i) => !infos[i]);
    if (missing.length) problems.push(`${name}: facts of ${missing.length} of ${digests.length} digests missing`);
    const created = new Map([...want.values()].map((p) => [p.digest, p.created]));
    const badCreated = infos.filter((info) => info && info.createdAt !== created.get(info.digest));
    if (badCreated.length) problems.push(`${name}: ${badCreated.length} images with a wrong createdAt`);
  }
  return problems;
}

/** The memory child: its JSON report, or throws with its stderr. */
function runChild(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`warm-memory-child exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run({ tmp, rounds, log, sizes: all }) {
  const s = {
    repos: all.warmRepos ?? 20,
    tags: all.warmTags ?? 200,
    images: all.warmImages ?? 50,
    rate: all.warmRate ?? 50,
    burst: all.warmBurst ?? 10,
    clientBurst: all.warmClientBurst ?? 5,
    rounds: Math.max(1, Math.min(rounds, all.warmRounds ?? 3)),
    memTags: all.warmMemTags ?? 100_000,
    memImages: all.warmMemImages ?? 10,
    memApiTags: all.warmMemApiTags ?? 1000,
    defaultRepos: all.warmDefaultRepos ?? 4,
  };
  if (s.tags % s.images) throw new Error('warm case: tags must be a multiple of images');
  const perImage = s.tags / s.images;
  if (!which('docker-registry')) return skipped('docker-registry not installed (apt-get install docker-registry)', s);
  const dir = join(tmp, 'warm');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'registry'), { recursive: true });
  let lib;
  let dist;
  try {
    ({ lib, dist } = await loadLibrary(dir));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return skipped(`motecache not built (${String(err.message).split('\n')[0]})`, s);
  }
  const { Warmer, KvImageMetadataStore, SqliteKeyValueStore, RegistryClient, ImageMetadataCache, latestTag } = lib;

  const registry = await startRegistry(join(dir, 'registry'));
  let proxy;
  const pushClient = new RegistryClient({ credentials: false, rateLimit: { requestsPerSecond: 1e6, burst: 1e6 }, connections: 32 });
  try {
    // ---- the repositories: R × T tags over I images each (T/I tags per image, `1.<i>.<k>`), all distinct.
    const paths = Array.from({ length: s.repos }, (_, r) => `bench/warm${String(r).padStart(2, '0')}`);
    const images = () =>
      Array.from({ length: s.images }, (_, i) => ({
        tags: Array.from({ length: perImage }, (_, k) => `1.${i}.${k}`),
        created: new Date(Date.UTC(2024, 0, 1) + i * 3_600_000).toISOString(),
      }));
    const pushed = new Map();
    let t0 = performance.now();
    await pool(paths, 4, async (p) => pushed.set(p, await pushTaggedImages(pushClient, { registry: registry.host, repository: p }, images(), 8)));
    const distinct = new Set([...pushed.values()].flatMap((m) => [...m.values()].map((x) => x.digest))).size;
    log(`  pushed ${s.repos} repositories × ${s.tags} tags (${fmtNum(distinct)} distinct manifests) in ${fmtNum((performance.now() - t0) / 1000, 1)} s`);
    if (distinct !== s.repos * s.images) throw new Error(`expected ${s.repos * s.images} distinct manifests, pushed ${distinct}`);
    let pages = 0;
    for (const p of paths) {
      const got = await tagPages(registry.host, p);
      if (got.tags !== s.tags) throw new Error(`${p}: the registry lists ${got.tags} tags, ${s.tags} pushed`);
      pages += got.pages;
    }
    const minimum = { tags: pages, headManifest: s.repos * s.tags, getManifest: s.repos * s.images, getBlob: s.repos * s.images };
    const minTotal = sum(minimum);
    const minSeconds = minTotal / s.rate;
    const expectedLatest = `1.${s.images - 1}.${perImage - 1}`;

    proxy = await startRateLimitProxy(registry.host, { rate: s.rate, burst: s.burst });
    log(`  rate-limit proxy ${proxy.host} → ${registry.host}: ${s.rate} req/s, burst ${s.burst}; minimum for full metadata ${fmtNum(minTotal)} requests (${kindsText(minimum)}) = ${fmtNum(minSeconds, 1)} s at ${s.rate} req/s`);
    const names = paths.map((p) => `${proxy.host}/${p}`);
    const expected = new Map(paths.map((p, i) => [names[i], pushed.get(p)]));

    // ---- rounds: first cycle, second cycle (+10 min), restart.
    const results = [];
    let limited = 0;
    for (let r = 0; r < s.rounds; r++) {
      const roundDir = join(dir, `round-${r}`);
      mkdirSync(roundDir, { recursive: true });
      const db = join(roundDir, 'metadata.db');
      await pause(500); // the proxy's bucket is full again (a real registry's would be after a quiet moment)
      await proxy.reset();
      let offset = 0;
      const now = () => Date.now() + offset;
      const hooks = { requests: {}, changes: {}, events: {}, errors: [] };
      const client = new RegistryClient({
        credentials: false,
        rateLimit: { requestsPerSecond: s.rate, burst: s.clientBurst },
        onEvent: (e) => e.type !== 'response' && count(hooks.events, e.type),
      });
      const inner = new KvImageMetadataStore(new SqliteKeyValueStore(db));
      const listedAt = new Map();
      const fullAt = new Map();
      const latestChecks = [];
      const cache = new ImageMetadataCache({ store: inner });
      let start = 0;
      const store = watched(inner, (state, at) => {
        const tags = Object.values(state.tags);
        if (tags.length === 0) return;
        if (!listedAt.has(state.repository)) {
          listedAt.set(state.repository, at - start);
          latestChecks.push(latestTag(cache, state.repository, { semver: '*' }, { offline: true }).then((a) => a.tag, (err) => `error: ${err.message}`));
        }
        if (!fullAt.has(state.repository) && tags.length === s.tags && tags.every((t) => t.digest !== '')) fullAt.set(state.repository, at - start);
      });
      const warmer = new Warmer({
        client,
        store,
        repositories: names,
        concurrency: s.repos,
        now,
        onRequest: (kind) => count(hooks.requests, kind),
        onChange: (c) => count(hooks.changes, c.kind),
        onError: (repo, err) => hooks.errors.push(`${repo}: ${err?.message ?? err}`),
      });
      // The longest event-loop stall of this process during the cycle (a late limiter timer sends a bunch at once).
      const eld = monitorEventLoopDelay({ resolution: 10 });
      eld.enable();
      start = performance.now();
      const report1 = await warmer.cycle();
      eld.disable();
      const cycleMs = performance.now() - start;
      const first = await proxy.reset();
      const latest = await Promise.all(latestChecks);
      const problems = await verifyStore(inner, names, expected);
      const badLatest = latest.filter((t) => t !== expectedLatest);
      if (badLatest.length) problems.push(`${badLatest.length} tag-only latest answers were not ${expectedLatest}: ${badLatest.slice(0, 3).join('; ')}`);
      if (listedAt.size !== s.repos || fullAt.size !== s.repos) problems.push(`tag lists stored for ${listedAt.size}, full states for ${fullAt.size} of ${s.repos} repositories`);
      problems.push(...hooks.errors);
      const firstLib = { requests: { ...hooks.requests }, changes: { ...hooks.changes }, events: { ...hooks.events }, errors: hooks.errors.length };

      // Second cycle, nothing changed: 10 min later every tag list is due (poll 5 min, jitter 10 %), no tag is (1 h).
      offset = 10 * MINUTE;
      for (const k of ['requests', 'changes', 'events']) hooks[k] = {};
      t0 = performance.now();
      const report2 = await warmer.cycle();
      const secondMs = performance.now() - t0;
      const second = await proxy.reset();
      if (report2.refreshed.length !== s.repos) problems.push(`second cycle refreshed ${report2.refreshed.length} of ${s.repos}`);
      if (hooks.errors.length > firstLib.errors) problems.push(...hooks.errors.slice(firstLib.errors));
      const secondLib = { requests: { ...hooks.requests }, changes: { ...hooks.changes }, events: { ...hooks.events } };

      // Restart: the store closed and opened again on the same file, a new client, a new Warmer (no hooks).
      await store.close();
      await client.close();
      const client2 = new RegistryClient({ credentials: false, rateLimit: { requestsPerSecond: s.rate, burst: s.clientBurst } });
      const inner2 = new KvImageMetadataStore(new SqliteKeyValueStore(db));
      const restarted = new Warmer({ client: client2, store: inner2, repositories: names, concurrency: s.repos, now });
      offset += 30_000;
      const report3 = await restarted.cycle();
      const third = await proxy.reset();
      if (report3.skipped.length !== s.repos) problems.push(`restart: ${report3.skipped.length} of ${s.repos} repositories skipped as not due`);
      await inner2.close();
      await client2.close();
      rmSync(roundDir, { recursive: true, force: true });

      limited += first.limitedTotal + second.limitedTotal + third.limitedTotal;
      const res = {
        listed: Math.max(...listedAt.values()) / 1000,
        listedMedian: median([...listedAt.values()]) / 1000,
        full: Math.max(...fullAt.values()) / 1000,
        cycle: cycleMs / 1000,
        stallMs: eld.max / 1e6,
        first,
        second,
        third,
        secondMs,
        firstLib,
        secondLib,
        report1,
        problems,
      };
      results.push(res);
      const rateSeen = first.total / ((first.last - first.first) / 1000);
      log(
        `    round ${r + 1}/${s.rounds}: every tag list stored by ${res.listed.toFixed(2)} s (median ${res.listedMedian.toFixed(2)} s); full metadata at ${res.full.toFixed(1)} s` +
          ` (cycle ${res.cycle.toFixed(1)} s), ${fmtNum(first.total)} requests (${kindsText(seen(first))}; ${first.limitedTotal} × 429), ${fmtNum(rateSeen, 1)} req/s at the proxy, ${fmtNum(first.connections)} TCP connections opened; longest event-loop stall ${fmtNum(res.stallMs)} ms here, ${fmtNum(first.eventLoopDelayMaxMs)} ms in the proxy`,
      );
      log(
        `      second cycle ${fmtNum(secondMs)} ms: ${fmtNum(second.total)} requests (${kindsText(seen(second))}; ${second.limitedTotal} × 429); restart: ${third.total} requests, ${report3.skipped.length} skipped` +
          `; library counted ${JSON.stringify(firstLib.requests)}, changes ${JSON.stringify(firstLib.changes)}, client events ${JSON.stringify(firstLib.events)}`,
      );
      for (const p of problems) log(`      ! ${p}`);
    }

    // ---- W8 (info): the same first cycle on a few repositories with the client's default rate limit.
    const dNames = names.slice(0, Math.min(s.defaultRepos, s.repos));
    await pause(500);
    await proxy.reset();
    const dDir = join(dir, 'default-client');
    mkdirSync(dDir, { recursive: true });
    const dEvents = { retry: 0, 'rate-limit': 0 };
    const dRates = [];
    const dErrors = [];
    const dClient = new RegistryClient({ credentials: false, onEvent: (e) => e.type !== 'response' && (count(dEvents, e.type), e.type === 'rate-limit' && dRates.push(e.requestsPerSecond)) });
    const dStore = new KvImageMetadataStore(new SqliteKeyValueStore(join(dDir, 'metadata.db')));
    const dWarmer = new Warmer({ client: dClient, store: dStore, repositories: dNames, concurrency: dNames.length, onError: (repo, err) => dErrors.push(`${repo}: ${err?.message ?? err}`) });
    t0 = performance.now();
    await dWarmer.cycle();
    const dMs = performance.now() - t0;
    const dStats = await proxy.reset();
    const dProblems = [...(await verifyStore(dStore, dNames, expected)), ...dErrors];
    const dMin = (minTotal * dNames.length) / s.repos;
    await dStore.close();
    await dClient.close();
    log(
      `  default client (${dNames.length} repositories): ${fmtNum(dMs / 1000, 1)} s, ${fmtNum(dStats.total)} requests (${dStats.limitedTotal} × 429), ${dEvents.retry} retries,` +
        ` rate cut/raised to ${dRates.map((x) => fmtNum(x, 1)).join(', ') || 'never'} req/s${dProblems.length ? `; ${dProblems.length} problem(s): ${dProblems[0]}` : ''}`,
    );

    // ---- W7: one repository with many tags on few manifests; the warmer in a child process, straight to the registry.
    // The images and the first tags are pushed (putManifest per tag); the other tags are written into the registry's
    // storage as distribution writes them (distribution 2.8 puts ~140 tags/s here: 100,000 would take 12 minutes).
    const memPath = 'bench/many';
    const tagName = (i) => `t${String(i).padStart(6, '0')}`;
    const apiTags = Math.min(s.memTags, s.memApiTags);
    const mem = await pushManyTags(pushClient, { registry: registry.host, repository: memPath }, { tags: apiTags, images: s.memImages, tagName, concurrency: 32 });
    t0 = performance.now();
    const seeded = seedTagsOnDisk(
      registry.dataDir,
      memPath,
      (function* () {
        for (let i = mem.pushed; i < s.memTags; i++) yield [tagName(i), mem.digests[i % s.memImages]];
      })(),
    );
    const seedMs = performance.now() - t0;
    const memListed = await tagPages(registry.host, memPath);
    const lastTag = tagName(s.memTags - 1);
    const head = await fetch(`http://${registry.host}/v2/${memPath}/manifests/${lastTag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    if (memListed.tags !== s.memTags || head.headers.get('docker-content-digest') !== mem.digests[(s.memTags - 1) % s.memImages]) {
      throw new Error(`${memPath}: the registry lists ${memListed.tags} tags (${s.memTags} made); HEAD ${lastTag}: ${head.status} ${head.headers.get('docker-content-digest')}`);
    }
    const memHow = `${fmtNum(mem.pushed)} tags pushed (putManifest, 32 at once: ${fmtNum(mem.pushed / (mem.ms / 1000))} tags/s), ${fmtNum(seeded)} written into the registry's storage in ${fmtNum(seedMs / 1000, 1)} s`;
    log(`  ${memPath}: ${fmtNum(s.memTags)} tags on ${s.memImages} manifests (${memHow}); the registry lists them in ${memListed.pages} page(s)`);
    const child = await runChild({ dist, registry: registry.host, repository: memPath, db: join(dir, 'memory', 'metadata.db') });
    const memPeak = Math.max(...child.phases.map((p) => p.peak));
    for (const p of child.phases) {
      log(
        `    ${p.label}: ${fmtNum(p.ms / 1000, 1)} s, peak RSS ${fmtNum(p.peak / MiB, 1)} MiB${p.peakReset ? '' : ' (since start: VmHWM could not be reset)'}, RSS after ${fmtNum(p.rss / MiB, 1)} MiB,` +
          ` heap used ${fmtNum(p.heapUsed / MiB, 1)} MiB; requests ${JSON.stringify(p.requests)}; tags known ${p.tagsKnown}`,
      );
    }
    log(`    start-up RSS ${fmtNum(child.startup.rss / MiB, 1)} MiB; store: ${JSON.stringify(child.known)}${child.errors.length ? `; errors: ${child.errors.join('; ')}` : ''}`);
    const memOk = child.known.withDigest === s.memTags && child.known.facts === child.known.digests && child.errors.length === 0;

    // ---- rows
    const med = (f) => median(results.map(f));
    const worst = (f) => results.reduce((a, b) => (f(b) > f(a) ? b : a));
    const allProblems = results.flatMap((x, i) => x.problems.map((p) => `round ${i + 1}: ${p}`));
    const complete = allProblems.length === 0;
    const incomplete = complete ? '' : ` (INCOMPLETE: ${allProblems.length} problem(s), see the details)`;
    const w1 = med((x) => x.listed);
    const w2w = worst((x) => Math.abs(x.first.total - minTotal));
    const w3 = med((x) => x.full) / minSeconds;
    const w4w = worst((x) => x.second.total - x.second.forwarded.tags);
    const restartRequests = results.reduce((a, x) => a + x.third.total, 0);
    const roundsText = s.rounds > 1 ? `median of ${s.rounds} rounds` : 'one round';
    const setup = `${s.repos} repos × ${s.tags} tags (${fmtNum(s.repos * s.images)} distinct manifests), ${s.rate} req/s proxy`;
    const rows = [
      checkRow({
        id: 'W1',
        measure: `warmer, ${setup}: time from the first cycle's start until every repository's tag list is stored (tag-only latest answers offline), ${roundsText}`,
        mote: `${w1.toFixed(2)} s (worst round ${Math.max(...results.map((x) => x.listed)).toFixed(2)} s)${incomplete}`,
        target: '≤ 2 s',
        ok: complete && w1 <= 2,
      }),
      checkRow({
        id: 'W2',
        measure: `requests the proxy saw for full metadata / the minimum (tag-list pages + a HEAD per tag + a GET per distinct manifest + a GET per distinct config), worst of ${s.rounds}`,
        mote:
          `${fmtNum(w2w.first.total)} / ${fmtNum(minTotal)} = ${(w2w.first.total / minTotal).toFixed(2)}× (${kindsText(seen(w2w.first))}` +
          `${w2w.first.limitedTotal ? `; ${fmtNum(w2w.first.limitedTotal)} of them refused with 429 and sent again` : ''})`,
        target: '= 1.00×',
        ok: complete && results.every((x) => x.first.total === minTotal && sameCounts(seen(x.first), minimum)),
      }),
      checkRow({
        id: 'W3',
        measure: `time to full metadata (every digest and its facts stored) / (the minimum ÷ ${s.rate} req/s), ${roundsText}`,
        mote: `${med((x) => x.full).toFixed(1)} s / ${minSeconds.toFixed(1)} s = ${w3.toFixed(3)}×${incomplete}`,
        target: '≤ 1.1×',
        ok: complete && w3 <= 1.1,
      }),
      checkRow({
        id: 'W4',
        measure: `second cycle with nothing changed (10 min later: tag lists due, no tag due): requests, worst of ${s.rounds}`,
        mote: `${fmtNum(w4w.second.total)} (${kindsText(seen(w4w.second))}), ${fmtNum(med((x) => x.secondMs))} ms`,
        target: `tag-list pages only (${pages})`,
        ok: results.every((x) => x.second.total === pages && (x.second.forwarded.tags ?? 0) === pages),
      }),
      absRow({
        id: 'W5',
        measure: `429s from the proxy, all rounds and phases (client rate limit set to ${s.rate} req/s, burst ${s.clientBurst}; proxy burst ${s.burst})`,
        value: limited,
        text: `${limited}`,
        max: 0,
        maxText: '0',
      }),
      absRow({
        id: 'W6',
        measure: 'restart (store reopened on the same SQLite file, new client and Warmer): requests, all rounds',
        value: restartRequests,
        text: `${restartRequests}`,
        max: 0,
        maxText: '0 requests',
      }),
      absRow({
        id: 'W7',
        measure: `warmer process with ${fmtNum(s.memTags)} tags known (one repository, ${s.memImages} manifests, SQLite store, straight to the registry): peak RSS (VmHWM) over a first cycle, a second cycle and a restart`,
        value: memOk ? memPeak : undefined,
        text: `${fmtNum(memPeak / MiB, 1)} MiB (start-up ${fmtNum(child.startup.rss / MiB, 1)} MiB)`,
        max: MEMORY_TARGET,
        maxText: '≤ 150 MiB',
      }),
      infoRow({
        id: 'W8',
        measure: `first cycle of ${dNames.length} of the repositories with the client's default rate limit (100 req/s, burst 50) against the ${s.rate} req/s proxy`,
        mote: `${fmtNum(dMs / 1000, 1)} s, ${fmtNum(dStats.total)} requests, ${fmtNum(dStats.limitedTotal)} × 429, ${dEvents.retry} retries`,
        base: `minimum: ${fmtNum(dMin)} requests, ${fmtNum(dMin / s.rate, 1)} s`,
        ratio: `${fmtNum(dMs / 1000 / (dMin / s.rate), 2)}× time`,
      }),
    ];
    const details = [
      `  - setup: ${setup} (burst ${s.burst}, 429 with Retry-After when empty), SQLite metadata store, Warmer concurrency ${s.repos} (every repository at once; the refresh's request concurrency is its default, 4), client rate limit ${s.rate} req/s with burst ${s.clientBurst}; minimum ${fmtNum(minTotal)} requests (${kindsText(minimum)})`,
      ...results.map(
        (x, i) =>
          `  - round ${i + 1}: tag lists stored by ${x.listed.toFixed(2)} s (median ${x.listedMedian.toFixed(2)} s), full metadata ${x.full.toFixed(1)} s, cycle ${x.cycle.toFixed(1)} s;` +
          ` ${fmtNum(x.first.total)} requests (${kindsText(seen(x.first))}), ${x.first.limitedTotal} × 429, ${fmtNum(x.first.total / ((x.first.last - x.first.first) / 1000), 1)} req/s at the proxy, ${fmtNum(x.first.connections)} TCP connections opened, longest event-loop stall ${fmtNum(x.stallMs)} ms in the warmer's process and ${fmtNum(x.first.eventLoopDelayMaxMs)} ms in the proxy's;` +
          ` second cycle ${fmtNum(x.secondMs)} ms, ${x.second.total} requests; restart ${x.third.total} requests; library onRequest ${JSON.stringify(x.firstLib.requests)}, onChange ${JSON.stringify(x.firstLib.changes)}` +
          (x.problems.length ? `; problems: ${x.problems.join('; ')}` : ''),
      ),
      `  - default client (${dNames.length} repositories, 100 req/s burst 50 against ${s.rate} req/s): ${fmtNum(dMs / 1000, 1)} s, ${fmtNum(dStats.total)} requests (${kindsText(seen(dStats))}), ${dStats.limitedTotal} × 429, ${dEvents.retry} retries, rate changes ${dRates.map((x) => fmtNum(x, 1)).join(' → ') || 'none'}${dProblems.length ? `; problems: ${dProblems.slice(0, 3).join('; ')}` : ''}`,
      `  - memory: ${memHow}; ` +
        child.phases.map((p) => `${p.label} ${fmtNum(p.ms / 1000, 1)} s, peak ${fmtNum(p.peak / MiB, 1)} MiB, heap ${fmtNum(p.heapUsed / MiB, 1)} MiB, requests ${JSON.stringify(p.requests)}, tags known ${p.tagsKnown}`).join('; ') +
        `; start-up RSS ${fmtNum(child.startup.rss / MiB, 1)} MiB; store ${JSON.stringify(child.known)}`,
    ];
    return { rows, details };
  } finally {
    await pushClient.close().catch(() => {});
    await proxy?.stop();
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
