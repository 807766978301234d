/**
 * What `npm pack` ships: the license file the package.json names, and everything the README links to (docs,
 * examples, the benchmark report), so its links work where the package is read; and the README's promises about
 * itself: its first two commands, an Install section near the top.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from './helpers/tmp.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The files `npm pack` would put in the tarball (no scripts run: dist/ is as the global setup built it). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}

describe('the package', () => {
  it('ships LICENSE (the full Apache-2.0 text package.json names) and every file the README links to', () => {
    const files = packedFiles();
    expect(files).toContain('LICENSE');
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('Apache-2.0');
    const license = fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8');
    expect(license.trimStart().startsWith('Apache License\n                           Version 2.0, January 2004')).toBe(true);
    for (const section of ['TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION', '9. Accepting Warranty or Additional Liability.', 'END OF TERMS AND CONDITIONS', 'APPENDIX: How to apply the Apache License to your work.']) {
      expect(license).toContain(section);
    }
    expect(license.length).toBeGreaterThan(11_000);

    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l) && !l.startsWith('#'));
    expect(links.length).toBeGreaterThan(10);
    const missing = [...new Set(links.map((l) => l.replace(/#.*$/, '')))].filter((target) => !files.some((f) => f === target || f.startsWith(`${target.replace(/\/$/, '')}/`)));
    expect(missing).toEqual([]);
    for (const doc of ['docs/registry.md', 'docs/images.md', 'docs/blobinfo.md', 'docs/descriptor-cache.md']) expect(files).toContain(doc);
  }, 180_000);

  it('README: its first two commands as they were, then an Install section before the library reference', () => {
    const lines = readme.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      '# motecache',
      '',
      '```sh',
      'npm ci && npm run demo   # build; ingest two OCI images through `mote`, dedup, verify, prune; pull them from a local registry',
      'npm test                 # the whole suite (vitest): conformance, multi-process, SIGKILL, disk full, registry, CLI, ...',
      '```',
    ]);
    const install = lines.indexOf('## Install');
    expect(install).toBeGreaterThan(0);
    expect(install).toBeLessThan(lines.indexOf('## Library'));
    const section = lines.slice(install, lines.indexOf('## Library')).join('\n');
    for (const text of ['npm i -g motecache', 'npx -p motecache mote', 'npx mote', 'npm i motecache', 'npm ci && npm link', "from 'motecache'"]) {
      expect(section).toContain(text);
    }
  });

  it('its types compile in the strictest consumer (exactOptionalPropertyTypes, skipLibCheck false), from every export', () => {
    const { dir, cleanup } = makeTempDir('motecache-consumer-');
    try {
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'motecache'), 'dir');
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
      const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
      const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
      expect(subpaths.length).toBeGreaterThan(10);
      const lines = subpaths.map((k, i) => `import * as m${i} from 'motecache${k.slice(1)}';`);
      lines.push(
        "import { FileMoteCache } from 'motecache';",
        "import { pull } from 'motecache/pull';",
        "import { RegistryClient } from 'motecache/registry';",
        `export const all = [${subpaths.map((_, i) => `m${i}`).join(', ')}];`,
        // Options as a consumer writes them, under exactOptionalPropertyTypes.
        "export const cache = new FileMoteCache('/tmp/x', { linkOnRead: false, staleAfterMs: 1000 });",
        "export const client = new RegistryClient({ insecure: ['localhost:5000'], onEvent: (e) => void e.type });",
        "export const pulled = (signal: AbortSignal) => pull('localhost:5000/a:b', 'oci:/tmp/y', { cache, signal, platform: 'linux/amd64' });",
      );
      fs.writeFileSync(path.join(dir, 'index.ts'), `${lines.join('\n')}\n`);
      const compilerOptions = {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts'] }));
      const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      } catch (err) {
        output = String((err as { stdout?: string }).stdout ?? err);
      }
      expect(output).toBe('');
    } finally {
      cleanup();
    }
  }, 180_000);
});
