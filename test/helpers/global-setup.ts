import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds dist/ (as `npm run build` does) so that tests spawning `node dist/...` run the current source. From empty: a file left by an older
 * build (a module since moved) must not let a test pass here that would fail on a fresh clone.
 */
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  // The `mote` the package installs is the bundle (dist/bin/mote.js): the CLI tests run what users run.
  execFileSync(process.execPath, ['scripts/bundle-cli.mjs'], { cwd: root, stdio: 'inherit' });
}
