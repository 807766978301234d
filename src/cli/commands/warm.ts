/**
 * `mote warm <repo...> | --repos FILE`: the warmer as a process. `--once`: one cycle, a report, exit (for cron and
 * scripts); otherwise it runs until SIGINT or SIGTERM, then finishes or abandons what is in flight within 5 s and
 * closes the store. `--listen ADDR` serves GET /healthz, GET /metrics and POST /notify.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import type { CycleReport } from '../../warm/warmer.js';
import { commandContext, type Shared } from '../context.js';
import { parseDuration } from '../duration.js';
import { CliError, describeError } from '../output.js';
import { addRegistryOptions, clientOptions, type RegistryCliOptions } from '../registry-options.js';
import { registryArgument } from '../transport.js';
import { namedFileError } from '../fs-errors.js';

interface WarmCliOptions extends RegistryCliOptions {
  repos?: string;
  once?: boolean;
  store?: string;
  listen?: string;
  interval?: string;
}

const SHUTDOWN_GRACE_MS = 5_000;
const WARM_BUDGET_RESERVE = 0.2;
const MAX_INTERVAL_MS = 7 * 24 * 3_600_000;
const MAX_REPOSITORIES = 100_000;

/** Repositories from the arguments and a file (one per line; blank lines and `#` comments skipped). */
function repositoryList(args: string[], file: string | undefined): string[] {
  const out = [...args];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw namedFileError(err, file, 'read');
    }
    for (const line of text.split('\n')) {
      const s = line.replace(/#.*/, '').trim();
      if (s !== '') out.push(s);
    }
  }
  if (out.length === 0) throw new InvalidArgumentError('name the repositories to warm, as arguments or with --repos FILE');
  if (out.length > MAX_REPOSITORIES) throw new InvalidArgumentError(`more than ${MAX_REPOSITORIES} repositories`);
  return [...new Set(out.map((r) => registryArgument(r, 'repository')))];
}

export function registerWarm(program: Command, shared: Shared): void {
  addRegistryOptions(
    program
      .command('warm')
      .description('keep the tags and image facts of repositories fresh in the metadata cache')
      .argument('[repository...]', 'repositories, e.g. registry.example.com/team/app (or docker://…)')
      .option('--repos <file>', 'more repositories, one per line')
      .option('--once', 'one cycle, then exit (for cron and scripts)')
      .option('--store <spec>', 'metadata store: sqlite:PATH, redis://HOST:PORT or memcached://HOST:PORT (default: SQLite in the cache)')
      .option('--listen <addr>', 'serve GET /healthz, GET /metrics and POST /notify on HOST:PORT')
      .option('--interval <duration>', 'read each tag list again after this long (default 5m)'),
  ).action(async (args: string[], opts: WarmCliOptions, command: Command) => {
    const ctx = commandContext(command, shared);
    const repositories = repositoryList(args, opts.repos);
    const pollIntervalMs = opts.interval === undefined ? undefined : parseDuration(opts.interval, '--interval', MAX_INTERVAL_MS);
    const [{ Warmer }, { openImageMetadataStore }, { RegistryClient }, { startWarmServer }, { WarmMetrics }] = await Promise.all([
      import('../../warm/warmer.js'),
      import('../../metadata/spec.js'),
      import('../../registry/client.js'),
      import('../../warm/server.js'),
      import('../../warm/metrics.js'),
    ]);
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    process.once('SIGTERM', stop);
    // A background warmer leaves a fifth of a budget a registry announces to the pulls people run.
    const metrics = new WarmMetrics();
    const client = new RegistryClient({ ...clientOptions(opts, { config: ctx.config }), rateLimit: { reserveFraction: WARM_BUDGET_RESERVE }, onEvent: (e) => {
        metrics.registryEvent(e);
        ctx.debug?.(e);
      } });
    const store = await openImageMetadataStore(opts.store, ctx.cacheDir);
    let lastCycle: CycleReport | undefined;
    let loopEnded = false;
    const warmer = new Warmer({
      client,
      store: metrics.instrument(store),
      repositories,
      ...(pollIntervalMs !== undefined && { pollIntervalMs }),
      onRequest: (kind) => metrics.request(kind),
      onChange: (c) => {
        metrics.change(c.kind);
        if (ctx.json) process.stdout.write(`${JSON.stringify({ change: c })}\n`);
        else if (!ctx.quiet) process.stderr.write(`${c.repository}:${c.tag} ${c.kind}${c.digest ? ` ${c.digest}` : ''}\n`);
      },
      onError: (repository, err) => {
        metrics.failure();
        if (ctx.quiet) return;
        // --json: nothing on stderr is plain text; a repository's failure is a warning line (the warmer goes on).
        if (ctx.json) process.stderr.write(`${JSON.stringify({ warning: { ...describeError(err), name: 'WarmFailure', repository } })}\n`);
        else process.stderr.write(`${repository}: ${err instanceof Error ? err.message : String(err)}\n`);
      },
      onCycle: (r) => {
        lastCycle = r;
        metrics.cycle(r);
        if (ctx.json) process.stdout.write(`${JSON.stringify({ cycle: r })}\n`);
        else if (!ctx.quiet) process.stderr.write(`warm: ${r.refreshed.length} refreshed, ${r.failed.length} failed, ${r.skipped.length} not due\n`);
      },
    });
    const server = opts.listen
      ? await startWarmServer({
          listen: opts.listen,
          notify: (r) => {
            metrics.notified();
            warmer.notify(r);
          },
          metrics: () => metrics.render(),
          health: () => ({ ok: !controller.signal.aborted && !loopEnded, detail: { repositories: repositories.length, ...(lastCycle && { lastCycle }) } }),
        })
      : undefined;
    if (server && ctx.json) process.stdout.write(`${JSON.stringify({ listening: `http://${server.address}` })}\n`);
    else if (server && !ctx.quiet) process.stderr.write(`warm: listening on http://${server.address}\n`);
    try {
      if (opts.once) {
        const report = await warmer.cycle(controller.signal);
        ctx.out.result(report, () => [`refreshed ${report.refreshed.length}, failed ${report.failed.length}, not due ${report.skipped.length}, leased elsewhere ${report.leasedElsewhere.length}`]);
        if (report.failed.length > 0) throw new CliError('ERR_MOTE_WARM_FAILED', `could not refresh: ${report.failed.join(', ')}`);
      } else {
        const running = warmer.run(controller.signal).finally(() => (loopEnded = true));
        running.catch((err: unknown) => {
          if (!ctx.quiet) process.stderr.write(`warm: stopped: ${err instanceof Error ? err.message : String(err)}\n`);
          controller.abort();
        });
        await new Promise<void>((resolve) => (controller.signal.aborted ? resolve() : controller.signal.addEventListener('abort', () => resolve(), { once: true })));
        // In-flight requests see the abort; whatever still runs after the grace period is abandoned.
        await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
      }
    } finally {
      process.off('SIGTERM', stop);
      await server?.close();
      await client.destroy().catch(() => {});
      await store.close();
    }
  });
}
