import type { Command } from 'commander';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize, parseSize } from '../size.js';

export function registerPrune(program: Command, shared: Shared): void {
  program
    .command('prune')
    .description('remove least recently used blobs until the cache holds at most --max-size bytes')
    .requiredOption('--max-size <size>', 'size to shrink to, e.g. 10GiB, 500M, 4096 (K/M/G/T are 1024-based, KB/MB/GB/TB 1000-based)')
    .action(async (opts: { maxSize: string }, command: Command) => {
      const ctx = commandContext(command, shared);
      const maxSize = parseSize(opts.maxSize);
      const result = await withCache(ctx, {}, (cache) => cache.prune(maxSize, { signal: ctx.signal }));
      const removed = result.removedDigests ?? [];
      const linkedCount = result.linkedCount ?? 0;
      const linkedBytes = result.linkedBytes ?? 0;
      const plural = (n: number): string => `${n} blob${n === 1 ? '' : 's'}`;
      ctx.out.result(
        { removed, removedCount: result.removed, freedBytes: result.freedBytes, remainingBytes: result.remainingBytes, maxSize, linkedCount, linkedBytes },
        () => [
          `removed ${plural(result.removed)}, freed ${formatSize(result.freedBytes)}, ` +
            `${formatSize(result.remainingBytes)} remaining (limit ${formatSize(maxSize)})`,
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
