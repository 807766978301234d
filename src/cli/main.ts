#!/usr/bin/env node
/**
 * The `mote` executable (package `bin`, bundled into dist/bin/mote.js by scripts/bundle-cli.mjs): runs the CLI and
 * exits with its code (see exit-codes.ts).
 */
// The one question answered without loading the command tree (`--version` or `-V`, with or without `--json`):
// scripts ask it to check what is installed. version.js is a few lines, and the command tree loads it anyway.
const { versionRequest, formatVersion } = await import('./version.js');
const asked = versionRequest(process.argv.slice(2));
if (asked) {
  process.stdout.write(`${formatVersion(asked.json)}\n`);
} else {
  const { run } = await import('./program.js');
  process.exitCode = await run(process.argv);
  // Everything the command opened is closed by now. Exit at once rather than when Node's event loop has run dry:
  // Node would first wait for V8's background GC work to finish (tens of ms after a pull). A turn of the loop
  // first lets queued warnings print, and stdout/stderr are flushed before exiting.
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise((resolve) => s.write('', resolve))));
  process.exit();
}
