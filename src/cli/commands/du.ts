import type { Command } from 'commander';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize } from '../size.js';

export function registerDu(program: Command, shared: Shared): void {
  program
    .command('du')
    .description('show how many blobs the cache holds and the bytes they use on disk (partial downloads apart)')
    .action(async (_opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      const { count, bytes, partialBytes } = await withCache(ctx, {}, (cache) => cache.stats());
      // Partial downloads are not motes, but they use the disk: shown apart (`mote prune` / `verify` reclaim the
      // abandoned ones).
      ctx.out.result(
        { count, bytes, partialBytes, cache: ctx.cacheDir },
        () =>
          `${count} blob${count === 1 ? '' : 's'}, ${formatSize(bytes)} (${bytes} bytes) in ${ctx.cacheDir}` +
          (partialBytes > 0 ? `; partial downloads: ${formatSize(partialBytes)} (${partialBytes} bytes)` : ''),
      );
    });
}
