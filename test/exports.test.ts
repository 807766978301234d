/**
 * The package's `exports` map against the built dist/: every subpath's module loads and exports something, and
 * its type declarations exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { types: string; import: string }> };

describe('package exports', () => {
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    it(`${pkg.name}${sub.slice(1)} loads, exports names, and has types`, async () => {
      expect(fs.existsSync(path.join(root, target.types)), target.types).toBe(true);
      const mod = (await import(path.join(root, target.import))) as Record<string, unknown>;
      expect(Object.keys(mod).length).toBeGreaterThan(0);
    });
  }
  it('the bin is the bundled CLI and is executable', () => {
    const bin = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: { mote: string } }).bin.mote;
    expect(bin).toBe('dist/bin/mote.js');
    expect(fs.statSync(path.join(root, bin)).mode & 0o111).not.toBe(0);
  });
});
