// motecache benchmark: `npm run bench` (full, writes BENCHMARKS.md) or `npm run bench -- --quick` (smoke test).
//
// Options:
//   --quick          small sizes, one round; prints the table, does not write BENCHMARKS.md
//   --only=1,3,7     run only these cases (does not write BENCHMARKS.md)
//   --rounds=N       alternating rounds per comparison (default 5, verify at most 3; quick 1)
//   --write / --no-write   force writing BENCHMARKS.md or not
//   --keep           keep the bench temp dir (for inspection)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { machineInfo, KiB, MiB, renderTable } from './util.mjs';
import { makeFixtures } from './fixtures.mjs';
import * as streamPut from './cases/stream-put.mjs';
import * as streamRead from './cases/stream-read.mjs';
import * as smallPut from './cases/small-put.mjs';
import * as smallRead from './cases/small-read.mjs';
import * as exists from './cases/exists.mjs';
import * as prune from './cases/prune.mjs';
import * as verify from './cases/verify.mjs';
import * as blobinfo from './cases/blobinfo.mjs';
import * as descriptorCache from './cases/descriptor-cache.mjs';
import * as pull from './cases/pull.mjs';
import * as warm from './cases/warm.mjs';
import * as copyCase from './cases/copy.mjs';
import * as serve from './cases/serve.mjs';

const CASES = { 1: streamPut, 2: streamRead, 3: smallPut, 4: smallRead, 5: exists, 6: prune, 7: verify, 8: blobinfo, 9: descriptorCache, 10: pull, 11: warm, 12: copyCase, 13: serve };

const SIZES = {
  full: {
    bigMiB: 512,
    smallCount: 5000,
    smallSize: 4 * KiB,
    pruneCount: 100_000,
    pruneSize: 64,
    pruneRounds: 1,
    verifyCount: 2000,
    verifySize: 64 * KiB,
    verifyBigCount: 8,
    verifyBigSize: 4 * MiB,
    verifyRounds: 3,
    pullBigLayers: 4,
    pullBigLayerMiB: 256,
    pullBigRounds: 1,
    pullManyLayers: 50,
    pullManyLayerKiB: 64,
    warmRepos: 20,
    warmTags: 200,
    warmImages: 50,
    warmRate: 50,
    warmBurst: 10,
    warmClientBurst: 5,
    warmRounds: 3,
    warmMemTags: 100_000,
    warmMemImages: 10,
    warmMemApiTags: 1000,
    warmDefaultRepos: 4,
    copyLayers: 4,
    copyLayerMiB: 50,
    serveLayerMiB: 50,
    rounds: 5,
  },
  quick: {
    bigMiB: 64,
    smallCount: 500,
    smallSize: 4 * KiB,
    pruneCount: 10_000,
    pruneSize: 64,
    pruneRounds: 1,
    verifyCount: 200,
    verifySize: 64 * KiB,
    verifyBigCount: 2,
    verifyBigSize: 4 * MiB,
    verifyRounds: 1,
    pullBigLayers: 4,
    pullBigLayerMiB: 32,
    pullBigRounds: 1,
    pullManyLayers: 50,
    pullManyLayerKiB: 64,
    warmRepos: 4,
    warmTags: 40,
    warmImages: 10,
    warmRate: 50,
    warmBurst: 10,
    warmClientBurst: 5,
    warmRounds: 1,
    warmMemTags: 10_000,
    warmMemImages: 10,
    warmMemApiTags: 1000,
    warmDefaultRepos: 1,
    copyLayers: 4,
    copyLayerMiB: 8,
    serveLayerMiB: 8,
    rounds: 1,
  },
};

function parseArgs(argv) {
  const opts = { quick: false, only: undefined, rounds: undefined, write: undefined, keep: false };
  for (const a of argv) {
    if (a === '--quick') opts.quick = true;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--write') opts.write = true;
    else if (a === '--no-write') opts.write = false;
    else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--rounds=')) opts.rounds = Number(a.slice(9));
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

async function loadLibrary(log) {
  try {
    const lib = await import('../dist/index.js');
    if (typeof lib.FileMoteCache !== 'function') throw new Error('dist/index.js exports no FileMoteCache');
    return lib;
  } catch (err) {
    log(`! motecache not available (${err.message.split('\n')[0]}); running the cacache and raw node:fs parts only`);
    return null;
  }
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const tmp = process.env.BENCH_TMP ?? fileURLToPath(new URL('../.bench-tmp/', import.meta.url));

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (s) => console.log(s);
  if (typeof global.gc !== 'function') log('! run with --expose-gc (npm run bench does) for steadier figures');
  const sizes = { ...SIZES[opts.quick ? 'quick' : 'full'] };
  const rounds = opts.rounds ?? sizes.rounds;
  const selected = opts.only ?? Object.keys(CASES);

  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // Keep git from ever picking the temp dir up while it exists.
  writeFileSync(`${tmp}/.gitignore`, '*\n');
  const cleanup = () => {
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      cleanup();
      process.exit(130);
    });
  }

  const lib = await loadLibrary(log);
  const machine = machineInfo(tmp);
  const started = new Date();
  log(`motecache bench${opts.quick ? ' (quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}, Node ${machine.node}, ${machine.fs}`);
  log(`temp dir ${tmp}, ${rounds} round(s)`);

  const fixtures = makeFixtures({ lib, tmp, sizes, log });
  const ctx = { lib, tmp, rounds, sizes, log, ...bind(fixtures) };
  const rows = [];
  const details = [];
  const t0 = performance.now();
  try {
    for (const id of selected) {
      const c = CASES[id];
      if (!c) throw new Error(`no case ${id}`);
      log(`\n[${id}] ${c.title}`);
      const ct = performance.now();
      const res = await c.run(ctx);
      rows.push(...res.rows);
      details.push(`- ${id}. ${c.title} (${((performance.now() - ct) / 1000).toFixed(0)} s)`, ...res.details);
      const rest = selected.slice(selected.indexOf(id) + 1);
      if (!rest.some((x) => x === '4' || x === '5')) await fixtures.disposeSmallStores();
      if (!rest.some((x) => x === '1' || x === '2')) fixtures.releaseBig();
    }
  } finally {
    await fixtures.dispose();
    cleanup();
  }
  const elapsed = (performance.now() - t0) / 1000;

  const table = renderTable(rows);
  log(`\n${table}\n`);
  log(`total ${elapsed.toFixed(0)} s`);

  const full = !opts.quick && !opts.only && opts.rounds === undefined;
  if (opts.write ?? (full && lib)) {
    writeFileSync(`${repoRoot}/BENCHMARKS.md`, report({ opts, started, machine, table, details, elapsed, rounds, sizes, lib }));
    log('wrote BENCHMARKS.md');
  } else {
    log('BENCHMARKS.md not written (only a full run with motecache built writes it; --write forces)');
  }
  const misses = rows.filter((r) => r.result === 'MISS').length;
  if (misses) log(`${misses} target(s) missed`);
}

function bind(obj) {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, typeof v === 'function' ? v.bind(obj) : v]));
}

function report({ opts, started, machine, table, details, elapsed, rounds, sizes, lib }) {
  const pkg = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8'));
  const cacacheVersion = JSON.parse(readFileSync(`${repoRoot}/node_modules/cacache/package.json`, 'utf8')).version;
  const args = process.argv.slice(2).join(' ');
  return `# Benchmarks

Command: \`npm run bench${args ? ` -- ${args}` : ''}\` (= \`npm run build --silent && node --expose-gc bench/run.mjs\`)

Date: ${started.toISOString()} · total run time ${elapsed.toFixed(0)} s · motecache ${pkg.version}${lib ? '' : ' (not built: baselines only)'} vs cacache ${cacacheVersion}

Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory} RAM, ${machine.os}, Node ${machine.node}; bench dir on ${machine.fs}${opts.quick ? '\n\n**Quick mode: small sizes, one round — smoke test only.**' : ''}

Figures are medians of ${rounds} alternating round(s) (verify ${Math.min(rounds, sizes.verifyRounds)}, prune ${sizes.pruneRounds}); ratio = motecache ÷ baseline (higher is better). Rows whose
target reads "reference" are context (plain \`node:fs\` floors, or the durable store against cacache, which never
fsyncs) and carry no target.

${table}

## Per-round figures

${details.join('\n')}

## Method

- Everything runs in one process, one case after another, on the same machine and filesystem. Each
  implementation gets its own fresh directory under \`.bench-tmp/\` in the repository (same filesystem as the
  repo), removed after its run; the whole temp dir is removed at the end.
- Within a case, implementations alternate in rounds and the median is reported, so slow drift of the VM's disk
  hits all of them alike. The order rotates each round (A B C, B C A, C A B, …) so that no implementation always
  follows the same neighbour: a first probe showed that whichever reader ran right after cacache's (allocation-
  heavy) stream read lost ~30 % whatever it was. Before every timed run the harness calls \`sync\` (so write-back of
  a previous run's dirty pages is not billed to the next one) and \`global.gc()\` twice; only the operation itself
  is timed (\`performance.now()\`), not store creation, \`initialize()\`, cleanup or checks. Rounds: ${rounds} for
  cases 1–5 (with 5 implementations and 5 rounds each write case is a full Latin square), ${Math.min(rounds, sizes.verifyRounds)} for verify
  (cacache takes ~10 s per pass there), ${sizes.pruneRounds} for prune (an absolute target; populating 100,000 files
  is the expensive part).
- Read-only cases (2, 4, 5) time each pass right after an untimed pass of the same reader, so each is measured in
  its own steady state (allocator, JIT, page cache); verify gets one untimed pass of each before its rounds.
- Inputs are random and generated once before timing: ${sizes.bigMiB} distinct 1 MiB chunks for the stream cases,
  fed by a byte-mode \`Readable\` that pushes one chunk per \`read()\` (every implementation gets the same kind of
  source); ${sizes.smallCount} distinct ${sizes.smallSize / KiB} KiB contents for the small cases.
- Page cache: it cannot be dropped here, so the read cases do not depend on it being cold: every timed read is
  served from a warm page cache, for all implementations alike.
  Writes without fsync measure the write into the page cache plus hashing; durable rows pay real disk flushes.
- Raw \`node:fs\` baselines: stream put = sha256 pass-through \`Transform\` → \`fs.createWriteStream(tmp)\` → \`rename\`
  into \`blobs/sha256/<hex>\` (durable: \`flush: true\`, i.e. fsync before close, plus an fsync of the directory);
  stream read = \`fs.createReadStream\` of the very blob file motecache serves (\`moteRef\`), with
  \`highWaterMark\` 1 MiB (the chunk size motecache reads with) for the target row and Node's default 64 KiB as a
  reference row; small put = sha256 + \`writeFile(tmp)\` + \`rename\` (durable: write, fsync, close, rename, fsync of the
  directory handle); small read = \`fs.readFile\`; presence = \`fs.stat\`.
- cacache uses its defaults (sha512 integrity, no fsync, no memoization). \`get.byDigest\`, \`get.stream.byDigest\`
  and \`verify\` all re-hash with sha512; cacache \`verify\` also garbage-collects and rebuilds its index.
- Reads and presence checks visit the ${sizes.smallCount} digests in one fixed shuffled order, the same for every
  implementation; small puts are sequential (\`await\` each).
- Prune: ${sizes.pruneCount.toLocaleString('en-US')} motes of ${sizes.pruneSize} random bytes are put with \`durable: false\`, 16 in flight; then
  \`prune(stats().bytes / 2)\`. Extra memory = peak RSS during the prune − RSS just before it (after
  \`global.gc()\`); the peak is the larger of a 5 ms sampler running in a worker thread (so it keeps sampling
  while the main thread is busy) and the kernel's VmHWM after resetting it via \`/proc/self/clear_refs\`. As a
  floor for the kernel work, the store is then closed and removed with \`fs.rmSync\` (one \`unlinkSync\` per
  surviving blob), and that per-file cost is set beside prune's per-removed-mote cost (row 6d).
- Verify: both stores hold the same ${sizes.verifyCount} × ${sizes.verifySize / KiB} KiB + ${sizes.verifyBigCount} × ${sizes.verifyBigSize / MiB} MiB random contents;
  throughput = stored content bytes ÷ wall time of one full \`verify()\`.
- Small stream reads (4d, 4e): each of the ${sizes.smallCount} reads opens a stream (\`moteReader\`, cacache
  \`get.stream.byDigest\`, \`fs.createReadStream\` of the blob file) and consumes it with \`for await\`; the bytes
  are counted and checked. Same order, rounds and warm-up as the \`get\` rows.
- Pull (case 10): Debian's \`docker-registry\` on loopback serves images made here (tar+gzip layers of random
  bytes, pushed with \`skopeo copy --preserve-digests\`); \`mote pull\` (the built CLI, \`node dist/bin/mote.js\`)
  and \`skopeo copy docker:// oci:\` run as processes, timed from spawn to exit, each on an empty cache and a new
  destination. The ~200 MiB image gets min(max(rounds, 3), 5) rounds, each a skopeo copy, a cold pull and
  4 concurrent cold pulls on one empty cache (order rotating), then a warm pull on the cold pull's cache and the
  same cold/warm pair as \`pull()\` calls. \`mote --version\` (P2) runs 11 times alternating with \`node -e 0\`, after an
  untimed run of each. The ${sizes.pullManyLayers} × ${sizes.pullManyLayerKiB} KiB-layer image (P5) alternates skopeo and mote over the same number of rounds.
  The ${sizes.pullBigLayers} × ${sizes.pullBigLayerMiB} MiB image (P4) gets ${sizes.pullBigRounds} round(s); peak RSS is GNU time's \`%M\` (the
  process's \`ru_maxrss\`).
- Warmer (case 11): the same \`docker-registry\` serves ${sizes.warmRepos} repositories × ${sizes.warmTags} tags over ${sizes.warmImages} images each
  (${sizes.warmTags / sizes.warmImages} tags per image, a distinct config per image, one shared layer per repository), pushed with the
  library's \`RegistryClient\` (\`bench/push-tags.mjs\`). The warmer reads them through \`bench/rate-limit-proxy.mjs\`, a
  token-bucket proxy in a child process (${sizes.warmRate} req/s, burst ${sizes.warmBurst}, \`429\` + \`Retry-After\` when empty) that stands in
  for a registry's rate limit and counts every request by kind. Each of min(rounds, ${sizes.warmRounds}) rounds: a new SQLite metadata
  store, client (rate limit ${sizes.warmRate} req/s, burst ${sizes.warmClientBurst}) and \`Warmer\` (concurrency ${sizes.warmRepos}: every repository at
  once); the first cycle is timed from its start to the \`putRepository\` (seen through a wrapper around the store) that
  stores each repository's tag list (then \`latestTag(…, { semver: '*' }, { offline: true })\` is checked to answer) and
  the one that stores every digest; the store is then checked against what was pushed (digest of every tag,
  \`createdAt\` of every image). The second cycle runs with the warmer's clock 10 minutes on (tag lists due after
  5 min ± 10 %, tags after 1 h); the restart closes the store, opens it again on the same file and cycles a new
  \`Warmer\` with a new client. W8 repeats the first cycle on ${sizes.warmDefaultRepos} repositories with the client's default rate limit.
  W7: ${sizes.warmMemTags.toLocaleString('en-US')} tags on ${sizes.warmMemImages} manifests in one repository: the images and the first ${sizes.warmMemApiTags.toLocaleString('en-US')} tags pushed
  (one \`putManifest\` per tag, 32 at once), the other tags written into the registry's storage as distribution
  writes a tag (its two link files; the registry then lists and serves them as pushed tags, checked by a tag list
  and a HEAD), since distribution puts ~140 tags/s here. A child process (\`bench/cases/warm-memory-child.mjs\`)
  warms it straight from the registry (no rate limit): first cycle, second cycle, restart; peak RSS is its VmHWM,
  reset before each phase.
- Copy (case 12): two \`docker-registry\` instances; a ${sizes.copyLayers} × ${sizes.copyLayerMiB} MiB gzip image (random bytes) pushed to the first
  with skopeo; each of min(rounds, 3) rounds (order alternating) runs \`skopeo copy docker:// docker://\` and
  \`skopeo copy --dest-compress-format zstd\` (each as an unprivileged user with a fresh blob-info cache, so no run
  reuses another's pushes), and \`mote copy\` cold (empty cache), \`--dest-compress zstd\` cold, and the same zstd
  copy again to another repository (variants substituted, blobs mounted); each copy to a fresh repository of the
  second registry. Peak RSS is GNU time's \`%M\`.
`;
}

main().catch((err) => {
  console.error(err);
  if (!process.argv.includes('--keep')) rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
});
