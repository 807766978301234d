import { readFileSync } from 'node:fs';

/** The package's version, from its package.json (src/cli/, dist/cli/ and dist/bin/ are two levels below the root). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** What `mote version --json` and `mote --version --json` print: the package's version, Node's, and the platform. */
export interface VersionInfo {
  version: string;
  /** `process.version`, e.g. `v20.19.0`. */
  node: string;
  /** `<process.platform>-<process.arch>`, e.g. `linux-x64`, as Node and npm name platforms. */
  platform: string;
}

export function versionInfo(): VersionInfo {
  return { version: packageVersion(), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** The version as `mote` prints it: the bare version, or one JSON line of {@link VersionInfo}. */
export function formatVersion(json: boolean): string {
  return json ? JSON.stringify(versionInfo()) : packageVersion();
}

/**
 * Whether the arguments only ask for the version (`--version` or `-V`, with `--json` or not, in any order): what
 * `mote` answers before loading its command tree. Undefined when they ask for more; else whether JSON is wanted.
 */
export function versionRequest(args: readonly string[]): { json: boolean } | undefined {
  if (args.length === 0 || args.length > 2) return undefined;
  let version = false;
  let json = false;
  for (const a of args) {
    if ((a === '--version' || a === '-V') && !version) version = true;
    else if (a === '--json' && !json) json = true;
    else return undefined;
  }
  return version ? { json } : undefined;
}
