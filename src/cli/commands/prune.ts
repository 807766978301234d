import type { Command } from 'commander';
import { CliError, USAGE_ERROR_CODE } from '../output.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { parseAge } from '../duration.js';
import { formatSize, parseSize } from '../size.js';

/** The longest `--older-than` taken: ten years (a longer one is surely a typo, and keeps the arithmetic exact). */
const MAX_AGE_MS = 3650 * 86_400_000;

export function registerPrune(program: Command, shared: Shared): void {
  program
    .command('prune')
    .description('remove least recently used blobs until the cache holds at most --max-size bytes, and/or those unused for longer than --older-than')
    .option('--max-size <size>', 'size to shrink to, e.g. 10GiB, 500M, 4096 (K/M/G/T are 1024-based, KB/MB/GB/TB 1000-based)')
    .option('--older-than <duration>', 'also remove every blob not used (written or read through mote) for this long: 30d, 12h, 2w, 90min (a unit is required)')
    .action(async (opts: { maxSize?: string; olderThan?: string }, command: Command) => {
      const ctx = commandContext(command, shared);
      if (opts.maxSize === undefined && opts.olderThan === undefined) throw new CliError(USAGE_ERROR_CODE, 'give --max-size, --older-than, or both');
      const maxSize = opts.maxSize === undefined ? undefined : parseSize(opts.maxSize);
      const olderThanMs = opts.olderThan === undefined ? undefined : parseAge(opts.olderThan, '--older-than', MAX_AGE_MS);
      const result = await withCache(ctx, {}, (cache) =>
        cache.prune(maxSize ?? Number.MAX_SAFE_INTEGER, { signal: ctx.signal, ...(olderThanMs !== undefined && { olderThanMs }) }),
      );
      const removed = result.removedDigests ?? [];
      const linkedCount = result.linkedCount ?? 0;
      const linkedBytes = result.linkedBytes ?? 0;
      const plural = (n: number): string => `${n} blob${n === 1 ? '' : 's'}`;
      const limits = [...(maxSize !== undefined ? [`limit ${formatSize(maxSize)}`] : []), ...(opts.olderThan !== undefined ? [`unused for ${opts.olderThan.trim()}`] : [])];
      ctx.out.result(
        {
          removed,
          removedCount: result.removed,
          freedBytes: result.freedBytes,
          remainingBytes: result.remainingBytes,
          maxSize: maxSize ?? null,
          olderThanMs: olderThanMs ?? null,
          linkedCount,
          linkedBytes,
        },
        () => [
          `removed ${plural(result.removed)}, freed ${formatSize(result.freedBytes)}, ${formatSize(result.remainingBytes)} remaining (${limits.join(', ')})`,
          // Why a prune to 0 can leave bytes: removing the cache's name of a file linked elsewhere frees nothing.
          ...(linkedCount > 0
            ? [
                `kept ${plural(linkedCount)} (${formatSize(linkedBytes)}) hard-linked elsewhere too (OCI layouts \`mote pull\` wrote, ` +
                  `or a read or pull in progress): removing them would free no space; remove those layouts first (or pull with --copy)`,
              ]
            : []),
        ],
      );
    });
}
