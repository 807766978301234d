/**
 * `mote images`: the cache by image name, as `podman images` shows local storage: every tag `mote pull` (or `mote
 * manifest | config | digest`) resolved (the cache's refs records), with the digest it resolved to. A record whose
 * manifest is no longer in the cache (removed by `rm` or `prune`) is left out, or shown as missing with `--all`: a
 * name is listed as cached only when `pull --offline` could start from it (its layers may still be missing: a
 * `mote manifest` fetched none).
 */
import type { Command } from 'commander';
import type { CachedRef } from '../../pull/refs.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize } from '../size.js';

interface ImageRow extends CachedRef {
  /** The manifest (or index) the tag resolved to is in the cache. */
  present: boolean;
}

/** Records are checked when read; this is the last guard before a terminal: no control characters. */
const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

function table(rows: readonly ImageRow[]): string[] {
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((r) => r.reference.length), 'REFERENCE'.length);
  const line = (ref: string, digest: string, size: string, pulled: string, platforms: string): string =>
    `${ref.padEnd(width)}  ${digest.padEnd(19)}  ${size.padStart(10)}  ${pulled.padEnd(16)}  ${platforms}`;
  return [
    line('REFERENCE', 'DIGEST', 'SIZE', 'RECORDED', 'PLATFORMS'),
    ...rows.map((r) =>
      line(printable(r.reference), r.digest.slice(0, 19), formatSize(r.size), printable(r.recordedAt.slice(0, 16).replace('T', ' ')), `${printable(r.platforms.join(','))}${r.present ? '' : ' (manifest no longer cached)'}`),
    ),
  ];
}

export function registerCachedImages(program: Command, shared: Shared): void {
  program
    .command('images')
    .description('list the images the cache holds by name: each tag a pull (or manifest, config, digest) resolved, and its digest (--json: an array of records)')
    .option('--all', 'also list tags whose manifest has since been removed from the cache (present: false)')
    .action(async (opts: { all?: boolean }, command: Command) => {
      const ctx = commandContext(command, shared);
      const { listRefs } = await import('../../pull/refs.js');
      const rows = await withCache(ctx, {}, async (cache) => {
        const out: ImageRow[] = [];
        for (const r of listRefs(cache.root)) {
          ctx.signal.throwIfAborted();
          const present = await cache.moteExists(r.digest);
          if (present || opts.all) out.push({ ...r, present });
        }
        return out;
      });
      ctx.out.result(rows, () => table(rows));
    });
}
