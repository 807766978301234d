import type { Command } from 'commander';
import type { MoteInfo } from '../../store/index.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize } from '../size.js';

/** One human line per mote: digest, size (right-aligned), media type. */
export function formatListLine(info: MoteInfo): string {
  return `${info.digest}  ${formatSize(info.size).padStart(10)}  ${info.mediaType}`;
}

export function registerLs(program: Command, shared: Shared): void {
  program
    .command('ls')
    .description('list the blobs in the cache (digest, size, media type); --json gives an array of { digest, size, mediaType }')
    .action(async (_opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      const all = await withCache(ctx, {}, async (cache) => {
        const motes: MoteInfo[] = [];
        for await (const info of cache.list()) {
          ctx.signal.throwIfAborted();
          // Human output streams; JSON needs the whole array.
          if (ctx.json) motes.push({ digest: info.digest, size: info.size, mediaType: info.mediaType });
          else ctx.out.line(formatListLine(info));
        }
        return motes;
      });
      if (ctx.json) ctx.out.result(all, () => '');
    });
}
