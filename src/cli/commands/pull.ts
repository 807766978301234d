import { cliProgress } from '../bars.js';
import type { Command } from 'commander';
import { addRegistryOptions } from '../registry-options.js';
import { InvalidArgumentError } from '../../errors.js';
import type { PullProgressEvent, PullResult } from '../../pull/index.js';
import { parseDuration } from '../duration.js';
import { formatSize } from '../size.js';
import { commandContext, type CommandContext, type Shared } from '../context.js';

interface PullCliOptions {
  to: string;
  platform?: string;
  allPlatforms?: boolean;
  insecure?: string[];
  authfile?: string;
  concurrency?: string;
  copy?: boolean;
  timeout?: string;
}

function parseConcurrency(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`--concurrency must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * One bar per blob being downloaded from the registry (blobs already in the cache finish at once and get none),
 * on stderr when it is a terminal, never in JSON or quiet mode.
 */
function progressBars(ctx: CommandContext): { onProgress: (e: PullProgressEvent) => void; stop: () => void } | undefined {
  if (!ctx.stderrIsTTY || ctx.json || ctx.quiet) return undefined;
  const multi = new (cliProgress().MultiBar)(
    {
      format: '{label} [{bar}] {percentage}% | {done} / {size}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: 10,
    },
    cliProgress().Presets.shades_classic,
  );
  const bars = new Map<string, import('cli-progress').SingleBar>();
  return {
    onProgress(e) {
      if (e.source !== 'registry' || e.size < 0) return;
      const label = e.digest.slice(0, e.digest.indexOf(':') + 13);
      if (e.type === 'start') {
        bars.set(e.digest, multi.create(Math.max(e.size, 1), 0, { label, done: formatSize(0), size: formatSize(e.size) }));
        return;
      }
      const bar = bars.get(e.digest);
      if (!bar) return;
      const received = e.type === 'done' ? e.size : e.received;
      bar.update(Math.min(received, Math.max(e.size, 1)), { done: formatSize(received) });
      if (e.type === 'done') {
        multi.remove(bar);
        bars.delete(e.digest);
      }
    },
    stop() {
      multi.stop();
    },
  };
}

function summary(r: PullResult): string[] {
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
    `  tracker:       ${formatSize(r.tracker.total)} total, ${formatSize(r.tracker.deduplicated)} deduplicated, ${r.tracker.count} digests`,
  );
  for (const s of r.skipped) lines.push(`  skipped foreign layer ${s.digest} (${(s.urls ?? []).join(' ')})`);
  return lines;
}

export function registerPull(program: Command, shared: Shared): void {
  const command = program
    .command('pull')
    .description('pull an image or artifact through the cache into an OCI layout (oci:DIR[:TAG]) or archive (oci-archive:FILE[:TAG])')
    .argument('<reference>', 'image reference, e.g. registry.example.com/repo:tag or …@sha256:…')
    .requiredOption('--to <destination>', 'oci:<dir>[:<tag>] or oci-archive:<file.tar>[:<tag>] (tag default: the reference\'s)')
    .option('--platform <os/arch[/variant]>', 'platform to pick from a multi-platform image (default: this host\'s)')
    .option('--all-platforms', 'keep the whole index and pull every platform');
  addRegistryOptions(command)
    .option('--concurrency <n>', 'blobs to download at once (default 4)')
    .option('--copy', 'copy blobs into an oci: layout instead of hard-linking them from the cache (same filesystem only)')
    .option('--timeout <duration>', 'give up on the whole pull after this long (90, 90s, 10m, 1h): exit 7, nothing written')
    .action(async (reference: string, opts: PullCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const concurrency = parseConcurrency(opts.concurrency);
      // Loaded here, not at start-up: `mote --version` and the other commands never pay for the registry layer.
      const { pull, MAX_DEADLINE_MS } = await import('../../pull/index.js');
      const deadlineMs = opts.timeout === undefined ? undefined : parseDuration(opts.timeout, '--timeout', MAX_DEADLINE_MS);
      const bars = progressBars(ctx);
      let result: PullResult;
      try {
        result = await pull(reference, opts.to, {
          cache: ctx.cacheDir,
          signal: ctx.signal,
          ...(opts.platform !== undefined && { platform: opts.platform }),
          ...(opts.allPlatforms && { allPlatforms: true }),
          ...(opts.insecure && { insecure: opts.insecure }),
          ...(opts.authfile !== undefined && { authFile: opts.authfile }),
          ...(concurrency !== undefined && { concurrency }),
          ...(deadlineMs !== undefined && { deadlineMs }),
          ...(opts.copy && { placement: 'copy' as const }),
          ...(bars && { onProgress: bars.onProgress }),
        });
      } finally {
        bars?.stop();
      }
      ctx.out.result(result, () => summary(result));
    });
}
