import type { Command } from 'commander';
import { parseDigest } from '../../digest/index.js';
import { commandContext, withCache, type Shared } from '../context.js';

export function registerRm(program: Command, shared: Shared): void {
  program
    .command('rm')
    .description('remove blobs from the cache (removing an absent blob is not an error; it is reported as absent)')
    .argument('<digest...>', 'digests of the blobs')
    .action(async (digests: string[], _opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      // All or nothing on bad input: validate every digest before removing any.
      for (const d of digests) parseDigest(d);
      const unique = [...new Set(digests)];
      const result = await withCache(ctx, {}, async (cache) => {
        const removed: string[] = [];
        const absent: string[] = [];
        for (const d of unique) {
          const present = (await cache.find(d)) !== undefined;
          await cache.removeMote(d);
          (present ? removed : absent).push(d);
        }
        return { removed, absent };
      });
      for (const d of result.absent) ctx.out.note(`${d} was not in the cache`);
      const doc = { removed: result.removed, removedCount: result.removed.length, absent: result.absent, absentCount: result.absent.length };
      ctx.out.result(doc, () => result.removed.map((d) => `removed ${d}`));
    });
}
