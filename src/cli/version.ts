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
