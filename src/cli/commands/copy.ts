import type { Command } from 'commander';
import { addRegistryOptions, insecureHosts } from '../registry-options.js';
import { InvalidArgumentError } from '../../errors.js';
import type { CopyProgressEvent, CopyResult, LayerCompression } from '../../copy/index.js';
import type { PullProgressEvent } from '../../pull/index.js';
import { formatElapsed } from '../duration.js';
import { formatSize } from '../size.js';
import { commandContext, type Shared } from '../context.js';
import { pullProgress } from '../pull-progress.js';
import { withCredentials } from '../creds-file.js';

interface CopyCliOptions {
  all?: boolean;
  platform?: string;
  destCompress?: string;
  destCompressFormat?: string;
  destCompressLevel?: string;
  removeSignatures?: boolean;
  srcCreds?: string;
  destCreds?: string;
  insecure?: string[];
  authfile?: string;
  concurrency?: string;
}

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function summary(r: CopyResult, elapsedMs: number): string[] {
  const lines = [`copied ${r.source}`, `  to:            ${r.destination}`, `  digest:        ${r.digest}`];
  if (r.digest !== r.sourceDigest) lines.push(`  source digest: ${r.sourceDigest} (layers rewritten)`);
  if (r.platform !== undefined) lines.push(`  platform:      ${r.platform}`);
  if (r.manifests > 1) lines.push(`  manifests:     ${r.manifests}`);
  lines.push(
    `  blobs:         ${r.blobs}`,
    `  from registry: ${formatSize(r.bytesFromRegistry)}`,
    `  from cache:    ${formatSize(r.bytesFromCache)}`,
    `  compressed:    ${r.layersTransformed} layers, ${formatSize(r.bytesTransformed)} in; ${r.layersSubstituted} substituted from the cache`,
    `  uploaded:      ${r.blobsUploaded} blobs, ${formatSize(r.bytesUploaded)}`,
    `  mounted:       ${r.blobsMounted} blobs, ${formatSize(r.bytesMounted)}; ${r.blobsExisting} already there`,
    `  elapsed:       ${formatElapsed(elapsedMs)}`,
  );
  return lines;
}

export function registerCopy(program: Command, shared: Shared): void {
  const command = program
    .command('copy')
    .description('copy an image between docker://REF, oci:DIR[:TAG] and oci-archive:FILE[:TAG] through the cache, optionally recompressing layers')
    .argument('<source>', 'docker://REFERENCE, oci:DIR[:TAG] or oci-archive:FILE[:TAG]')
    .argument('<destination>', 'docker://REFERENCE, oci:DIR[:TAG] or oci-archive:FILE[:TAG]')
    .option('--all', 'copy every platform of a multi-platform image')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host\'s)')
    .option('--dest-compress <format>', 'put layers in this compression: gzip, zstd or none (default: keep them as they are)')
    .option('--dest-compress-format <format>', 'the same as --dest-compress (skopeo\'s name)')
    .option('--dest-compress-level <n>', 'compression level (gzip 1-9, zstd 1-19)')
    .option('--remove-signatures', 'allow rewriting a signed image (its signatures are not copied and no longer apply)')
    .option('--src-creds <user:password>', 'credentials for the source registry')
    .option('--dest-creds <user:password>', 'credentials for the destination registry');
  addRegistryOptions(command)
    .option('--concurrency <n>', 'blobs to move at once (default 4)')
    .action(async (source: string, destination: string, opts: CopyCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const format = opts.destCompress ?? opts.destCompressFormat;
      if (format !== undefined && !['gzip', 'zstd', 'none'].includes(format)) {
        throw new InvalidArgumentError(`--dest-compress must be gzip, zstd or none, got ${JSON.stringify(format)}`);
      }
      const level = wholeNumber(opts.destCompressLevel, '--dest-compress-level');
      const concurrency = wholeNumber(opts.concurrency, '--concurrency');
      const { copy, parseEndpoint } = await import('../../copy/index.js');
      // --platform, else the configuration file's (never over --all); the file's insecure hosts add to --insecure.
      const platform = opts.platform ?? (opts.all ? undefined : ctx.config.platform);
      const insecure = insecureHosts(opts, ctx.config);
      const src = parseEndpoint(source, 'source');
      const dest = parseEndpoint(destination, 'destination');
      const progress = ctx.json || ctx.quiet ? undefined : pullProgress({ stream: process.stderr, tty: ctx.stderrIsTTY });
      const started = performance.now();
      let result: CopyResult;
      try {
        result = await withCredentials(
          opts.authfile,
          [
            ...(opts.srcCreds !== undefined && src.transport === 'docker' ? [{ registry: src.ref.registry, creds: opts.srcCreds, flag: '--src-creds' }] : []),
            ...(opts.destCreds !== undefined && dest.transport === 'docker' ? [{ registry: dest.ref.registry, creds: opts.destCreds, flag: '--dest-creds' }] : []),
          ],
          (authFile) =>
            copy(source, destination, {
              cache: ctx.cacheDir,
              signal: ctx.signal,
              ...(opts.all && { all: true }),
              ...(platform !== undefined && { platform }),
              ...(format !== undefined && { compress: format as LayerCompression }),
              ...(level !== undefined && { compressLevel: level }),
              ...(opts.removeSignatures && { removeSignatures: true }),
              ...(insecure && { insecure }),
              ...(ctx.config.registries && { mirrors: ctx.config.registries }),
              ...(authFile !== undefined && { authFile }),
              ...(ctx.debug && { onRegistryEvent: ctx.debug }),
              ...(concurrency !== undefined && { concurrency }),
              ...(progress && {
                onProgress: (e: CopyProgressEvent) => {
                  if (e.type !== 'transform' && e.type !== 'push') progress.onProgress(e as PullProgressEvent);
                },
              }),
            }),
        );
      } finally {
        progress?.stop();
      }
      const elapsedMs = Math.round(performance.now() - started);
      ctx.out.result({ ...result, elapsedMs }, () => summary(result, elapsedMs));
    });
}
