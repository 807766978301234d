import type { Command } from 'commander';
import { MoteNotFoundError } from '../../errors.js';
import { parseDigest } from '../../digest/index.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { formatSize } from '../size.js';

export function registerInfo(program: Command, shared: Shared): void {
  program
    .command('info')
    .description("show a cached blob's digest, size, media type and path")
    .argument('<digest>', 'digest of the blob')
    .action(async (digest: string, _opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      parseDigest(digest);
      const info = await withCache(ctx, {}, async (cache) => {
        const found = await cache.find(digest);
        if (!found) throw new MoteNotFoundError(digest);
        return { digest: found.digest, size: found.size, mediaType: found.mediaType, path: cache.moteRef(digest) };
      });
      ctx.out.result(info, () => [
        `digest:     ${info.digest}`,
        `size:       ${info.size} (${formatSize(info.size)})`,
        `media type: ${info.mediaType}`,
        `path:       ${info.path}`,
      ]);
    });
}
