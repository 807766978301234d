import type { Command } from 'commander';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize } from '../size.js';

export function registerDu(program: Command, shared: Shared): void {
  program
    .command('du')
    .description('show how many motes the cache holds and the bytes they use on disk')
    .action(async (_opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      const { count, bytes } = await withCache(ctx, {}, (cache) => cache.stats());
      ctx.out.result({ count, bytes, cache: ctx.cacheDir }, () => `${count} mote${count === 1 ? '' : 's'}, ${formatSize(bytes)} (${bytes} bytes) in ${ctx.cacheDir}`);
    });
}
