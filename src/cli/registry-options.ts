/** The registry options every command that may contact a registry takes (`pull`, `tags`, `inspect`, `latest`, `warm`). */
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';
import type { MirrorsOption } from '../registry/types.js';
import type { MoteConfig } from './config-file.js';
import type { DebugLog } from './debug.js';

export interface RegistryCliOptions {
  insecure?: string[];
  authfile?: string;
}

/**
 * `--insecure` may be repeated, and each value may list several hosts separated by commas. A value that names no
 * host (`--insecure "$HOST"` with `$HOST` unset) is a usage error: ignoring it would leave the user believing a host
 * was allowed.
 */
export function collectHosts(value: string, previous: string[] = []): string[] {
  const hosts = value.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (hosts.length === 0) throw new CommanderArgumentError('names no host');
  return [...previous, ...hosts];
}

export function addRegistryOptions(command: Command): Command {
  return command
    .option('--insecure <host>', 'allow plain HTTP or unverified TLS for this registry host (repeatable)', collectHosts)
    .option('--authfile <file>', 'credentials file (Docker config.json or containers auth.json format)');
}

/** What the client options come from besides the flags: the command's `--debug` log and the configuration file. */
export interface ClientContext {
  debug?: DebugLog | undefined;
  config?: MoteConfig;
}

/** `--insecure` hosts and the configuration file's, together (the file adds; it never takes a flag's host away). */
export function insecureHosts(opts: RegistryCliOptions, config: MoteConfig = {}): string[] | undefined {
  const all = [...(opts.insecure ?? []), ...(config.insecure ?? [])];
  return all.length > 0 ? [...new Set(all)] : undefined;
}

/**
 * The client options for what the user gave (the registry layer is loaded by the caller, on demand): the flags,
 * the configuration file's insecure hosts and mirrors, and `--debug`'s log as the client's event listener.
 */
export function clientOptions(
  opts: RegistryCliOptions,
  ctx: ClientContext = {},
): { insecure?: string[]; authFile?: string; onEvent?: DebugLog; mirrors?: MirrorsOption } {
  const insecure = insecureHosts(opts, ctx.config);
  return {
    ...(insecure && { insecure }),
    ...(opts.authfile !== undefined && { authFile: opts.authfile }),
    ...(ctx.debug && { onEvent: ctx.debug }),
    ...(ctx.config?.registries && { mirrors: ctx.config.registries }),
  };
}
