import type { Command } from 'commander';
import { commandContext, withCache, type Shared } from '../context.js';
import { CORRUPT_ERROR_CODE, CliError } from '../output.js';
import { createProgress, progressEnabled, type Progress } from '../progress.js';
import { formatSize } from '../size.js';

export function registerVerify(program: Command, shared: Shared): void {
  program
    .command('verify')
    .description('re-hash every blob in the cache; corrupt ones are evicted and the exit code is 4')
    .action(async (_opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      let progress: Progress | undefined;
      let result;
      try {
        result = await withCache(ctx, {}, (cache) =>
          cache.verify({
            signal: ctx.signal,
            onProgress: ({ bytes, totalBytes }) => {
              // The total is known only once verify has walked the store.
              progress ??= createProgress(
                'verify',
                totalBytes,
                progressEnabled({ isTTY: ctx.stderrIsTTY, json: ctx.json, quiet: ctx.quiet, total: totalBytes, threshold: 0 }),
              );
              progress.update(bytes);
            },
          }),
        );
      } finally {
        progress?.stop();
      }
      const { checked, bytes, corrupt, sweptTemporaries } = result;
      ctx.out.result({ checked, bytes, corrupt, corruptCount: corrupt.length, sweptTemporaries }, () => [
        `verified ${checked} blob${checked === 1 ? '' : 's'} (${formatSize(bytes)})` +
          (sweptTemporaries > 0 ? `, swept ${sweptTemporaries} abandoned temporar${sweptTemporaries === 1 ? 'y' : 'ies'}` : ''),
        ...corrupt.map((d) => `corrupt (evicted): ${d}`),
      ]);
      if (corrupt.length > 0) {
        throw new CliError(
          CORRUPT_ERROR_CODE,
          `${corrupt.length} corrupt blob${corrupt.length === 1 ? '' : 's'} found and evicted: ${corrupt.join(', ')}`,
        );
      }
    });
}
