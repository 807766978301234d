// Bundles the `mote` CLI (dist/cli/main.js, as tsc emitted it) into dist/bin/: one entry file holding what every
// run needs (the command tree, commander), and chunks each command loads when it runs (the store, the registry
// client with undici, the pull). Node then resolves, reads and links a handful of files at start-up instead of a
// hundred-odd modules and packages: `mote --version` and a warm `mote pull` are mostly start-up (see BENCHMARKS.md).
// Native addons (better-sqlite3, @napi-rs/blake-hash, zstd-napi) and packages loaded with createRequire stay in node_modules.
import { chmodSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}dist/bin`;
rmSync(outDir, { recursive: true, force: true });
await build({
  input: { mote: `${root}dist/cli/main.js` },
  platform: 'node',
  external: ['better-sqlite3', '@napi-rs/blake-hash', 'ioredis', 'cli-progress', 'zstd-napi'],
  logLevel: 'warn',
  output: {
    dir: outDir,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: true,
  },
});
chmodSync(`${outDir}/mote.js`, 0o755);
