import type { Command } from 'commander';
import { addRegistryOptions, insecureHosts } from '../registry-options.js';
import { InvalidArgumentError } from '../../errors.js';
import type { PullProgressEvent, PullResult } from '../../pull/index.js';
import { formatElapsed, parseDuration } from '../duration.js';
import { formatSize } from '../size.js';
import { commandContext, type Shared } from '../context.js';
import { pullProgress } from '../pull-progress.js';
import { registryArgument } from '../transport.js';

interface PullCliOptions {
  to: string;
  platform?: string;
  allPlatforms?: boolean;
  insecure?: string[];
  authfile?: string;
  concurrency?: string;
  copy?: boolean;
  timeout?: string;
  offline?: boolean;
}

function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`--concurrency must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function summary(r: PullResult, elapsedMs: number): string[] {
  const lines = [
    `pulled ${r.reference}`,
    `  digest:        ${r.digest}`,
    `  destination:   ${r.destination}`,
  ];
  if (r.platform !== undefined) lines.push(`  platform:      ${r.platform}`);
  if (r.manifests.length > 1) lines.push(`  manifests:     ${r.manifests.length}`);
  lines.push(
    `  blobs:         ${r.blobs}`,
    `  from registry: ${formatSize(r.bytesFromRegistry)}`,
    `  from cache:    ${formatSize(r.bytesFromCache)}`,
    // The image's bytes counted per reference (a layer two platforms share counts twice) and per distinct blob.
    `  bytes:         ${formatSize(r.tracker.total)} referenced, ${formatSize(r.tracker.deduplicated)} unique (${r.tracker.count} blobs)`,
  );
  const speed = elapsedMs > 0 ? Math.round((r.bytesFromRegistry * 1000) / elapsedMs) : 0;
  lines.push(`  elapsed:       ${formatElapsed(elapsedMs)}${r.bytesFromRegistry > 0 ? `, ${formatSize(speed)}/s from the registry` : ''}`);
  for (const s of r.skipped) lines.push(`  skipped foreign layer ${s.digest} (${(s.urls ?? []).join(' ')})`);
  return lines;
}

export function registerPull(program: Command, shared: Shared): void {
  const command = program
    .command('pull')
    .description('pull an image or artifact through the cache into an OCI layout (oci:DIR[:TAG]) or archive (oci-archive:FILE[:TAG])')
    .argument('<reference>', 'image reference, e.g. registry.example.com/repo:tag, …@sha256:… or docker://…')
    .requiredOption('--to <destination>', 'oci:<dir>[:<tag>] or oci-archive:<file.tar>[:<tag>] (tag default: the reference\'s)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host\'s)')
    .option('--all-platforms', 'keep the whole index and pull every platform');
  addRegistryOptions(command)
    .option('--concurrency <n>', 'blobs to download at once (default 4)')
    .option('--copy', 'copy blobs into an oci: layout instead of hard-linking them from the cache (same filesystem only)')
    .option('--timeout <duration>', 'give up on the whole pull after this long (90, 90s, 10m, 1h): exit 7, nothing written')
    .option('--offline', 'contact no registry: the tag as the cache last resolved it (mote images), every blob from the cache; missing: exit 3')
    .action(async (reference: string, opts: PullCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const source = registryArgument(reference);
      // --platform, else the configuration file's (a default: it never overrides --all-platforms).
      const platform = opts.platform ?? (opts.allPlatforms ? undefined : ctx.config.platform);
      const insecure = insecureHosts(opts, ctx.config);
      const concurrency = parseConcurrency(opts.concurrency);
      // Loaded here, not at start-up: `mote --version` and the other commands never pay for the registry layer.
      const { pull, MAX_DEADLINE_MS } = await import('../../pull/index.js');
      const deadlineMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, '--timeout', MAX_DEADLINE_MS);
      // Progress on stderr: bars on a terminal, plain lines in a log; nothing in JSON or quiet mode.
      const progress = ctx.json || ctx.quiet ? undefined : pullProgress({ stream: process.stderr, tty: ctx.stderrIsTTY });
      const started = performance.now();
      let result: PullResult;
      try {
        result = await pull(source, opts.to, {
          cache: ctx.cacheDir,
          signal: ctx.signal,
          ...(platform !== undefined && { platform }),
          ...(opts.allPlatforms && { allPlatforms: true }),
          ...(insecure && { insecure }),
          ...(ctx.config.registries && { mirrors: ctx.config.registries }),
          ...(opts.authfile !== undefined && { authFile: opts.authfile }),
          ...(ctx.debug && { onRegistryEvent: ctx.debug }),
          ...(opts.offline && { offline: true }),
          // The configuration's maxSize: the cache is pruned back to it after each pull, this image kept.
          ...(ctx.config.maxSize !== undefined && { pruneTo: ctx.config.maxSize }),
          ...(concurrency !== undefined && { concurrency }),
          ...(deadlineMs !== undefined && { deadlineMs }),
          ...(opts.copy && { placement: 'copy' as const }),
          ...(progress && { onProgress: (e: PullProgressEvent) => progress.onProgress(e) }),
        });
      } finally {
        progress?.stop();
      }
      const elapsedMs = Math.round(performance.now() - started);
      // On stderr, in the mode's format (a JSON line in --json mode; the result document lists them too).
      for (const w of result.warnings) ctx.out.warning(Object.assign(new Error(w.message), { code: w.code, name: 'Warning' }));
      const { pruned } = result;
      ctx.out.result({ ...result, elapsedMs }, () => [
        ...summary(result, elapsedMs),
        ...(pruned
          ? [
              `  pruned:        ${pruned.removedCount} blob${pruned.removedCount === 1 ? '' : 's'}, ${formatSize(pruned.freedBytes)} (maxSize ${formatSize(pruned.maxSize)} in ${ctx.config.file}), ${formatSize(pruned.remainingBytes)} remaining`,
              // Else a cache left over maxSize looks like a prune that did not work: say what holds it.
              ...(pruned.linkedCount > 0
                ? [`  kept, linked:  ${pruned.linkedCount} blob${pruned.linkedCount === 1 ? '' : 's'}, ${formatSize(pruned.linkedBytes)} hard-linked elsewhere (oci: layouts, this image): freed once those links go`]
                : []),
            ]
          : []),
      ]);
    });
}
