import type { Command } from 'commander';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize, parseSize } from '../size.js';

export function registerPrune(program: Command, shared: Shared): void {
  program
    .command('prune')
    .description('remove least recently used motes until the cache holds at most --max-size bytes')
    .requiredOption('--max-size <size>', 'size to shrink to, e.g. 10GiB, 500M, 4096 (K/M/G/T are 1024-based, KB/MB/GB/TB 1000-based)')
    .action(async (opts: { maxSize: string }, command: Command) => {
      const ctx = commandContext(command, shared);
      const maxSize = parseSize(opts.maxSize);
      const result = await withCache(ctx, {}, (cache) => cache.prune(maxSize, { signal: ctx.signal }));
      const removed = result.removedDigests ?? [];
      ctx.out.result(
        { removed, removedCount: result.removed, freedBytes: result.freedBytes, remainingBytes: result.remainingBytes, maxSize },
        () =>
          `removed ${result.removed} mote${result.removed === 1 ? '' : 's'}, freed ${formatSize(result.freedBytes)}, ` +
          `${formatSize(result.remainingBytes)} remaining (limit ${formatSize(maxSize)})`,
      );
    });
}
