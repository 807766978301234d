import { open, rename, rm } from 'node:fs/promises';
import { siblingTemp } from '../../internal/fs.js';
import { sweepLeftovers } from '../../internal/leftovers.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { InvalidArgumentError, MoteNotFoundError } from '../../errors.js';
import { parseDigest } from '../../digest/index.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { namedFileError } from '../fs-errors.js';
import { counted, createProgress, progressEnabled, type Progress } from '../progress.js';

interface GetOptions {
  output?: string;
  verify?: boolean;
}

/**
 * Writes `source` to `target` atomically: into a temporary file in the target's directory, flushed to disk, then
 * renamed over the target. On any failure (including an integrity error found while reading) the temporary is
 * removed and `target` is left as it was.
 */
export async function writeFileAtomically(
  source: Readable,
  target: string,
  options: { signal?: AbortSignal; progress?: Progress } = {},
): Promise<string> {
  const absolute = path.resolve(target);
  const temporary = siblingTemp(absolute);
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // Named with our pid (siblingTemp), so that a later write of the same file removes what a killed one left.
    await sweepLeftovers(path.dirname(absolute), (t) => t === path.basename(absolute));
    handle = await open(temporary, 'wx', 0o666);
  } catch (err) {
    throw namedFileError(err, target, 'write'); // no such directory: a usage error (exit 2)
  }
  try {
    const sink = handle.createWriteStream({ flush: true });
    const signal = options.signal ? { signal: options.signal } : {};
    const progress = options.progress;
    if (progress) await pipeline(source, (s: AsyncIterable<Uint8Array>) => counted(s, progress), sink, signal);
    else await pipeline(source, sink, signal);
    await rename(temporary, absolute);
  } catch (err) {
    source.destroy();
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw err;
  }
  return absolute;
}

export function registerGet(program: Command, shared: Shared): void {
  program
    .command('get')
    .description('write a blob from the cache to stdout, or to a file with -o')
    .argument('<digest>', 'digest of the blob, e.g. sha256:…')
    .option('-o, --output <file>', "write to this file (atomically: temporary file, then rename) instead of stdout; '-' is stdout")
    .option('--verify', 're-hash while reading: exit 4 (and evict the blob) if its content is corrupt')
    .action(async (digest: string, opts: GetOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      parseDigest(digest);
      // `-o ""` (`-o "$OUT"` with `$OUT` unset) names no file: writing the bytes to stdout instead is not what was asked.
      if (opts.output === '') throw new InvalidArgumentError('--output: the file name is empty (use - for stdout)');
      const toFile = opts.output !== undefined && opts.output !== '-';
      const written = await withCache(ctx, { verifyOnRead: opts.verify ? 'always' : 'never' }, async (cache) => {
        const info = await cache.find(digest);
        if (!info) throw new MoteNotFoundError(digest);
        const reader = await cache.moteReader(digest);
        const showProgress = progressEnabled({ isTTY: ctx.stderrIsTTY, json: ctx.json, quiet: ctx.quiet, total: info.size });
        const progress = createProgress('get', info.size, showProgress);
        try {
          if (toFile) {
            const file = await writeFileAtomically(reader, opts.output!, { signal: ctx.signal, ...(showProgress && { progress }) });
            return { ...info, path: file };
          }
          if (showProgress) await pipeline(reader, (s: AsyncIterable<Uint8Array>) => counted(s, progress), process.stdout, { signal: ctx.signal });
          else await pipeline(reader, process.stdout, { signal: ctx.signal });
          return undefined;
        } finally {
          progress.stop();
        }
      });
      // The content went to stdout: there is no room for a result document there.
      if (written) ctx.out.result(written, () => '');
    });
}
