/** The registry options every command that may contact a registry takes (`pull`, `tags`, `inspect`, `latest`, `warm`). */
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';
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

/**
 * The client options for what the user gave (the registry layer is loaded by the caller, on demand); `debug` is
 * the command's `--debug` log (`CommandContext.debug`), given to the client as its event listener.
 */
export function clientOptions(opts: RegistryCliOptions, debug?: DebugLog): { insecure?: string[]; authFile?: string; onEvent?: DebugLog } {
  return {
    ...(opts.insecure && { insecure: opts.insecure }),
    ...(opts.authfile !== undefined && { authFile: opts.authfile }),
    ...(debug && { onEvent: debug }),
  };
}
