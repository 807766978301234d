/**
 * cli-progress, loaded on the first bar: bars are drawn only on a terminal, and loading the package at start-up
 * would cost every `mote` run (scripts, CI, `--json`) for nothing.
 */
import { createRequire } from 'node:module';

type CliProgress = typeof import('cli-progress');
let loaded: CliProgress | undefined;

export function cliProgress(): CliProgress {
  loaded ??= createRequire(import.meta.url)('cli-progress') as CliProgress;
  return loaded;
}
