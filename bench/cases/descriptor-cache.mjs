// Case: the registry's blob descriptor cache on a real redis-server (loopback): 10,000 setDescriptor + stat
// round trips, pipelined (many calls in flight on one connection), against a target of <= 1 s. The case starts
// its own redis-server (Debian's package) on a free loopback port with no persistence, and stops it by PID; when
// redis-server is missing its rows say so.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { absRow, fmtNum, freePort, infoRow, median, pool, settle, which } from '../util.mjs';

export const title = 'Redis blob descriptor cache';

const N = 10_000;
const IN_FLIGHT = 128;

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(String(d).startsWith('+PONG')));
  });
}

async function startRedis(bin) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'motecache-bench-redis-'));
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  const child = spawn(bin, args, { stdio: 'ignore' });
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      process.kill(child.pid, 'SIGTERM');
      const t = setTimeout(() => !exited && process.kill(child.pid, 'SIGKILL'), 2000);
      await exit;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!exited && Date.now() < deadline) {
    if (await ping(port)) return { url: `redis://127.0.0.1:${port}`, stop };
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error('redis-server did not answer PING within 5 s');
}

const label = `${fmtNum(N)} setDescriptor + stat round trips`;

function skipped(why) {
  return {
    rows: [absRow({ id: 'R1a', measure: `${label}, pipelined (${IN_FLIGHT} in flight), loopback Redis: ${why}`, maxText: '≤ 1 s' })],
    details: [`  - skipped: ${why}`],
  };
}

export async function run(ctx) {
  const { lib, log, rounds } = ctx;
  if (!lib || typeof lib.RedisBlobDescriptorCache !== 'function') return skipped('motecache not built');
  const bin = which('redis-server');
  if (!bin) return skipped('redis-server not installed (apt-get install redis-server)');

  const server = await startRedis(bin);
  const { Redis } = await import('ioredis');
  const descs = Array.from({ length: N }, (_, i) => {
    const digest = lib.digestOf(`descriptor ${i}`);
    return { digest, size: i, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
  });
  const check = (got, want) => {
    if (got.digest !== want.digest || got.size !== want.size || got.mediaType !== want.mediaType) {
      throw new Error(`stat(${want.digest}) gave ${JSON.stringify(got)}`);
    }
  };
  const roundTrip = (cache) => async (d) => {
    await cache.setDescriptor(d.digest, d);
    check(await cache.stat(d.digest), d);
  };

  const impls = [
    // The target: the cache's own client (built from the URL, auto-pipelined), many calls in flight.
    { name: 'pipelined', make: () => ({ cache: new lib.RedisBlobDescriptorCache(server.url) }), inFlight: IN_FLIGHT },
    // The same over a plain ioredis client passed in (ioredis defaults, no auto-pipelining): context.
    {
      name: 'plain ioredis client',
      make: () => {
        const client = new Redis(server.url);
        return { cache: new lib.RedisBlobDescriptorCache(client), client };
      },
      inFlight: IN_FLIGHT,
    },
    // One call at a time: every call pays a full loopback round trip (context, no target).
    { name: 'sequential', make: () => ({ cache: new lib.RedisBlobDescriptorCache(server.url) }), inFlight: 1 },
    // Memory backend, same loop (context).
    { name: 'memory', make: () => ({ cache: new lib.MemoryBlobDescriptorCache() }), inFlight: IN_FLIGHT },
  ];
  const times = Object.fromEntries(impls.map((i) => [i.name, []]));
  const flush = async () => {
    const c = new Redis(server.url);
    await c.flushall();
    await c.quit();
  };
  try {
    log(`  ${label}, ${rounds} round(s), redis-server ${redisVersion(bin)}`);
    for (let r = 0; r < rounds; r++) {
      for (const impl of impls) {
        await flush();
        const { cache, client } = impl.make();
        // Connect and warm up (JIT, connection buffers) outside the timing: 1,000 round trips, overwritten below.
        await pool(descs.slice(0, 1000), impl.inFlight === 1 ? 1 : IN_FLIGHT, roundTrip(cache));
        settle({ sync: false });
        const t0 = performance.now();
        await pool(descs, impl.inFlight, roundTrip(cache));
        times[impl.name].push(performance.now() - t0);
        await cache.close?.();
        await client?.quit();
      }
      log(`    round ${r + 1}/${rounds}: ${impls.map((i) => `${i.name} ${fmtNum(times[i.name][r])} ms`).join(', ')}`);
    }
  } finally {
    await server.stop();
  }
  const sec = (name) => median(times[name]) / 1000;
  const text = (name) => `${sec(name).toFixed(3)} s (${fmtNum(N / sec(name))} round trips/s)`;
  const rows = [
    absRow({ id: 'R1a', measure: `${label}, auto-pipelined, ${IN_FLIGHT} in flight, loopback Redis`, value: sec('pipelined'), text: text('pipelined'), max: 1, maxText: '≤ 1 s' }),
    infoRow({ id: 'R1b', measure: `${label}, ${IN_FLIGHT} in flight, plain ioredis client passed in (no auto-pipelining)`, mote: text('plain ioredis client') }),
    infoRow({ id: 'R1c', measure: `${label}, one at a time (not pipelined)`, mote: text('sequential') }),
    infoRow({ id: 'R1d', measure: `${label}, MemoryBlobDescriptorCache`, mote: text('memory') }),
  ];
  const details = Object.entries(times).map(([name, ms]) => `  - ${name}: ${ms.map((m) => `${fmtNum(m)} ms`).join(', ')}`);
  return { rows, details };
}

function redisVersion(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(r.stdout ?? '')?.[1] ?? '?';
}
