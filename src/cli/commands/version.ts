import { CommanderError, type Command } from 'commander';
import { commandContext, type Shared } from '../context.js';
import { versionInfo } from '../version.js';

/** The `CommanderError` code with which parsing stops at `--version`. */
export const VERSION_REQUESTED = 'commander.version';

/**
 * `mote version` (`--json`: `{"version","node","platform"}`), and the global `-V, --version`: the bare version, or
 * the same JSON document when `--json` is anywhere on the command line (`mote --version` alone, or with `--json`
 * only, is answered by main.ts before the command tree is even loaded).
 */
export function registerVersion(program: Command, shared: Shared): void {
  program.option('-V, --version', 'print the version (with --json: {"version","node","platform"}) and exit');
  // Printed by run(), which knows the whole command line (a --json after --version counts too).
  program.on('option:version', () => {
    throw new CommanderError(0, VERSION_REQUESTED, 'version requested');
  });
  program
    .command('version')
    .description('print the version of mote, of Node and the platform (--json: {"version","node","platform"})')
    .action((_opts: object, command: Command) => {
      const ctx = commandContext(command, shared);
      const info = versionInfo();
      ctx.out.result(info, () => [`version:  ${info.version}`, `node:     ${info.node}`, `platform: ${info.platform}`]);
    });
}
