import { open } from 'node:fs/promises';
import { fstatSync } from 'node:fs';
import { addAbortSignal, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { ALGORITHMS, isAlgorithm, parseDigest, type DigestAlgorithm } from '../../digest/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { MoteInfo } from '../../store/index.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { namedFileError } from '../fs-errors.js';
import { counted, createProgress, progressEnabled } from '../progress.js';
import { parseSize } from '../size.js';

interface PutOptions {
  mediaType?: string;
  digest?: string;
  size?: string;
  algorithm?: string;
}

/** The algorithm to hash with: `--digest`'s, else `--algorithm`, else the cache default. Conflicts are usage errors. */
function chooseAlgorithm(opts: PutOptions): DigestAlgorithm | undefined {
  const fromDigest = opts.digest === undefined ? undefined : parseDigest(opts.digest).algorithm;
  if (opts.algorithm === undefined) return fromDigest;
  if (!isAlgorithm(opts.algorithm)) {
    throw new InvalidArgumentError(`unknown algorithm ${JSON.stringify(opts.algorithm)} (supported: ${Object.keys(ALGORITHMS).join(', ')})`);
  }
  if (fromDigest !== undefined && fromDigest !== opts.algorithm) {
    throw new InvalidArgumentError(`--algorithm ${opts.algorithm} contradicts --digest, which is ${fromDigest}`);
  }
  return opts.algorithm;
}

/** The input stream and, when it can be known up front, its size. */
async function openInput(file: string): Promise<{ stream: Readable; size: number | undefined }> {
  if (file === '-') {
    let size: number | undefined;
    try {
      const st = fstatSync(0);
      if (st.isFile()) size = st.size;
    } catch {
      // stdin closed or unstattable: stream it all the same.
    }
    return { stream: process.stdin, size };
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw namedFileError(err, file, 'read'); // missing: a usage error (exit 2); unreadable: access denied
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new InvalidArgumentError(`${file} is a directory`);
    return { stream: handle.createReadStream({ highWaterMark: 1 << 20 }), size: st.isFile() ? st.size : undefined };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export function registerPut(program: Command, shared: Shared): void {
  program
    .command('put')
    .description('add a file (or stdin) to the cache and print its digest')
    .argument('<file>', "the file to add, or '-' for stdin")
    .option('--media-type <type>', 'OCI media type to record (default: application/octet-stream)')
    .option('--digest <digest>', 'expected digest: store nothing and exit 4 unless the content hashes to it')
    .option('--size <size>', 'expected size in bytes: store nothing and exit 4 unless the content has it')
    .option('--algorithm <alg>', 'digest algorithm when --digest is not given: sha256 (default), sha512, blake3')
    .action(async (file: string, opts: PutOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      // Validate everything before touching the input or the cache.
      const algorithm = chooseAlgorithm(opts);
      const expectedSize = opts.size === undefined ? undefined : parseSize(opts.size);
      const input = await openInput(file);
      addAbortSignal(ctx.signal, input.stream);
      const showProgress = progressEnabled({ isTTY: ctx.stderrIsTTY, json: ctx.json, quiet: ctx.quiet, total: input.size });
      const progress = createProgress(file === '-' ? 'put <stdin>' : 'put', input.size ?? 0, showProgress);
      // Without a bar the stream goes in as it is; with one, through a counting pass-through.
      const source = showProgress ? counted(input.stream, progress) : input.stream;
      let info: MoteInfo;
      try {
        info = await withCache(ctx, algorithm ? { algorithm } : {}, (cache) =>
          cache.put(source, {
            ...(opts.digest !== undefined && { digest: opts.digest }),
            ...(expectedSize !== undefined && { size: expectedSize }),
            ...(opts.mediaType !== undefined && { mediaType: opts.mediaType }),
          }),
        );
      } finally {
        progress.stop();
        if (input.stream !== process.stdin) input.stream.destroy();
      }
      ctx.out.result(info, () => info.digest);
    });
}
