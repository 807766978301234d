/**
 * `mote serve`: the cache as a pull-through registry mirror (src/serve/, docs/serve.md). Runs until SIGINT or
 * SIGTERM, then stops accepting and lets in-flight responses finish within the shutdown deadline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../errors.js';
import { commandContext, withCache, type Shared } from '../context.js';
import { namedFileError } from '../fs-errors.js';
import { parseSize } from '../size.js';
import type { ServeConfig } from '../../serve/config.js';
import type { UpstreamSpec } from '../../serve/upstream.js';

interface ServeCliOptions {
  listen?: string;
  upstream?: string;
  config?: string;
  maxSize?: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  authfile?: string;
  tagMaxAge?: string;
}

function readNamed(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw namedFileError(err, file, 'read');
  }
}

export function registerServe(program: Command, shared: Shared): void {
  program
    .command('serve')
    .description('serve the cache as a pull-through registry mirror (read side of the OCI distribution API)')
    .option('--listen <addr>', 'HOST:PORT to listen on (default 127.0.0.1:5000)')
    .option('--upstream <url>', 'mirror this registry by the same names (e.g. https://registry-1.docker.io)')
    .option('--config <file>', 'YAML or JSON config: upstreams, credentials, settings (see docs/serve.md)')
    .option('--max-size <size>', 'size cap of the cache (e.g. 20GiB), kept by LRU prune in the background')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--htpasswd <file>', 'require Basic auth from clients (bcrypt entries: htpasswd -B)')
    .option('--authfile <file>', 'credentials for the --upstream registry (Docker config.json or containers auth.json)')
    .option('--tag-max-age <seconds>', 'revalidate a cached tag upstream after this many seconds (default 300)')
    .action(async (opts: ServeCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const { loadServeConfig } = await import('../../serve/config.js');
      const config: ServeConfig = opts.config !== undefined ? loadServeConfig(opts.config) : {};
      const upstreams: UpstreamSpec[] = [...(config.upstreams ?? [])];
      if (opts.upstream !== undefined) upstreams.unshift({ url: opts.upstream, default: true, ...(opts.authfile ? { authFile: opts.authfile } : {}) });
      if (upstreams.length === 0) throw new InvalidArgumentError('give --upstream URL or a --config file with upstreams');
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
      const maxSizeText = opts.maxSize ?? (config.maxSize !== undefined ? String(config.maxSize) : undefined);
      const maxSize = maxSizeText !== undefined ? parseSize(maxSizeText) : undefined;
      const tagAge = opts.tagMaxAge ?? (config.tagMaxAgeSeconds !== undefined ? String(config.tagMaxAgeSeconds) : undefined);
      if (tagAge !== undefined && !/^\d+(\.\d+)?$/.test(tagAge)) throw new InvalidArgumentError(`--tag-max-age ${JSON.stringify(tagAge)}: give seconds`);
      const tlsFiles = opts.tlsCert !== undefined ? { cert: opts.tlsCert, key: opts.tlsKey! } : config.tls;
      const tls = tlsFiles ? { cert: readNamed(tlsFiles.cert), key: readNamed(tlsFiles.key) } : undefined;
      const htpasswdFile = opts.htpasswd ?? config.htpasswd;
      const htpasswd = htpasswdFile !== undefined ? readNamed(htpasswdFile) : undefined;
      const usingCacheFlag = command.optsWithGlobals<{ cache?: string }>().cache !== undefined;
      const cacheCtx = !usingCacheFlag && config.cache !== undefined ? { ...ctx, cacheDir: path.resolve(config.cache) } : ctx;
      const { startMirrorServer } = await import('../../serve/server.js');
      const { DEFAULT_LISTEN } = await import('../../serve/options.js');
      await withCache(cacheCtx, {}, async (store) => {
        const server = await startMirrorServer({
          listen: opts.listen ?? config.listen ?? DEFAULT_LISTEN,
          store,
          upstreams,
          ...(maxSize !== undefined ? { maxSize } : {}),
          ...(tagAge !== undefined ? { tagMaxAgeMs: Number(tagAge) * 1000 } : {}),
          ...(config.immutableTags ? { immutableTags: config.immutableTags } : {}),
          ...(htpasswd !== undefined ? { htpasswd } : {}),
          ...(tls ? { tls } : {}),
          // The access log: one JSON line per request on stdout.
          onAccess: (e) => process.stdout.write(`${JSON.stringify(e)}\n`),
          onPruneError: (err) => process.stderr.write(`mote serve: prune failed: ${(err as Error).message}\n`),
        });
        process.stderr.write(`mote serve: listening on ${server.url} (cache ${cacheCtx.cacheDir})\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          ctx.signal.addEventListener('abort', stop, { once: true });
          process.once('SIGTERM', stop);
        });
        process.stderr.write('mote serve: shutting down\n');
        await server.close();
      });
    });
}
