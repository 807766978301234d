// Case 1: stream put of one large mote, against plain node:fs write+sha256 and cacache put.stream.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { cacache, cacachePutStream, closeMote, openMote, rawStreamPut } from '../adapters.mjs';
import { alternate, chunkSource, detailLines, fmtBytes, freshDir, median, mibps, MiB, ratioRow, rmrf } from '../util.mjs';

export const title = 'Stream put';

export async function run(ctx) {
  const { lib, tmp, rounds, log, sizes } = ctx;
  const chunks = ctx.bigChunks();
  const total = chunks.length * MiB;
  const expected = `sha256:${chunks.reduce((h, c) => h.update(c), createHash('sha256')).digest('hex')}`;
  const label = fmtBytes(total);
  const dir = (r, name) => join(tmp, `put-r${r}-${name}`);

  const check = (digest) => {
    if (digest !== expected) throw new Error(`stream put produced ${digest}, expected ${expected}`);
  };

  const moteImpl = (name, durable) => ({
    name,
    setup: async (r) => ({ dir: dir(r, name), cache: await openMote(lib, dir(r, name), { durable }) }),
    run: async ({ cache }) => (await cache.put(chunkSource(chunks))).digest,
    check,
    teardown: async ({ cache, dir: d }) => {
      await closeMote(cache);
      await rmrf(d);
    },
  });
  const rawImpl = (name, durable) => ({
    name,
    setup: async (r) => freshDir(dir(r, name)),
    run: async (d) => rawStreamPut(d, chunkSource(chunks), { durable }),
    check,
    teardown: rmrf,
  });
  const impls = [
    lib && moteImpl('motecache durable:false', false),
    rawImpl('raw write+sha256', false),
    {
      name: 'cacache put.stream',
      setup: async (r) => freshDir(dir(r, 'cacache')),
      run: async (d) => cacachePutStream(d, 'big', chunkSource(chunks)),
      check: (integrity) => {
        if (!integrity) throw new Error('cacache returned no integrity');
      },
      teardown: rmrf,
    },
    lib && moteImpl('motecache durable:true', true),
    rawImpl('raw write+sha256+fsync', true),
  ].filter(Boolean);

  log(`  ${label} from ${chunks.length} × 1 MiB chunks, ${rounds} rounds`);
  const times = await alternate({ rounds, impls, log });
  const rate = (name) => (times[name]?.length ? mibps(total, median(times[name])) : undefined);
  const m = (name, l) => ({ label: l, value: rate(name) });

  const rows = [
    ratioRow({ id: '1a', measure: `Stream put ${label}, durable:false`, unit: 'MiB/s', mote: m('motecache durable:false'), base: m('raw write+sha256', 'raw write+sha256'), minRatio: 0.95 }),
    ratioRow({ id: '1b', measure: `Stream put ${label}, durable:false`, unit: 'MiB/s', mote: m('motecache durable:false'), base: m('cacache put.stream', 'cacache put.stream'), minRatio: 1.2 }),
    ratioRow({ id: '1c', measure: `Stream put ${label}, durable:true`, unit: 'MiB/s', mote: m('motecache durable:true'), base: m('raw write+sha256+fsync', 'raw write+sha256+fsync+rename'), minRatio: 0.9 }),
    ratioRow({ id: '1d', measure: `Stream put ${label}, durable:true (cacache never fsyncs)`, unit: 'MiB/s', mote: m('motecache durable:true'), base: m('cacache put.stream', 'cacache put.stream (no fsync)') }),
  ];
  return { rows, details: detailLines(times, (ms) => mibps(total, ms), 'MiB/s') };
}
