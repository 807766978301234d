/**
 * Image names as skopeo users write them: `docker://registry/repo:tag` is a registry reference, the same as
 * `registry/repo:tag`. Every other transport of skopeo's (`oci:`, `oci-archive:`, `dir:`, `docker-archive:`,
 * `docker-daemon:`, `containers-storage:`, ...) names something that is not a registry: a usage error that says so,
 * instead of a reference parser's complaint about a strange host name.
 */
import { CliError, USAGE_ERROR_CODE } from './output.js';

/** skopeo's transports (containers/image), by the name before the first `:`. */
const TRANSPORTS = new Set([
  'docker',
  'oci',
  'oci-archive',
  'dir',
  'docker-archive',
  'docker-daemon',
  'containers-storage',
  'ostree',
  'sif',
  'tarball',
]);

/**
 * The registry reference (or repository) in a command-line argument: `docker://` taken off; another transport
 * refused with a usage error (exit 2). `what` names the argument in the message ("reference", "repository").
 * A host with a port is not a transport: `oci:5000/team/app` stays a registry reference.
 */
export function registryArgument(arg: string, what = 'reference'): string {
  if (arg.startsWith('docker://')) return arg.slice('docker://'.length);
  const m = /^([a-z][a-z-]*):(.*)$/s.exec(arg);
  if (!m || !TRANSPORTS.has(m[1]!) || /^\d+(\/|$)/.test(m[2]!)) return arg;
  const transport = m[1]!;
  if (transport === 'docker') {
    throw new CliError(USAGE_ERROR_CODE, `the docker transport is written docker://REFERENCE, got ${JSON.stringify(arg)}`);
  }
  const hint = transport === 'oci' || transport === 'oci-archive' ? ` (a pull writes ${transport}: with --to)` : '';
  throw new CliError(
    USAGE_ERROR_CODE,
    `${JSON.stringify(arg)}: the ${transport}: transport is not a registry; mote reads ${what}s from registries only, as docker://${what.toUpperCase()} or ${what.toUpperCase()}${hint}`,
  );
}
